"""Event types: every state change a member should learn about (DESIGN §4).

Stored events get a per-member, strictly increasing `seq` in the same transaction as the
change. Live-only events (typing) are never stored and carry `seq: null`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from rapport.domain.model import MemberId


class EventType(StrEnum):
    MESSAGE_NEW = "message.new"
    MESSAGE_EDITED = "message.edited"
    MESSAGE_DELETED = "message.deleted"
    MESSAGE_DELIVERED = "message.delivered"
    MESSAGE_READ = "message.read"
    MESSAGE_REACTION = "message.reaction"
    TYPING = "typing"
    CONVERSATION_UPDATED = "conversation.updated"
    CONVERSATION_REMOVED = "conversation.removed"
    INVITATION_NEW = "invitation.new"
    INVITATION_ACCEPTED = "invitation.accepted"
    INVITATION_VIEWED = "invitation.viewed"
    CONNECTION_REMOVED = "connection.removed"
    NOTIFICATION_NEW = "notification.new"
    NOTIFICATION_READ = "notification.read"

    @property
    def is_live_only(self) -> bool:
        return self is EventType.TYPING


@dataclass(frozen=True, slots=True)
class Event:
    """One event addressed to some members; the payload is what each of them receives."""

    type: EventType
    recipients: tuple[MemberId, ...]
    payload: Mapping[str, Any] = field(default_factory=dict)


def frame(seq: int | None, body: bytes) -> bytes:
    """The wire form of an event: `seq` spliced into its encoded object (`body` starts with `{`).

    A body is encoded once for all its recipients and stored without a seq; each member's
    number is spliced in when it is sent, without parsing or re-encoding the rest."""
    head = b'{"seq":null,' if seq is None else b'{"seq":%d,' % seq
    return head + body[1:] if len(body) > 2 else head[:-1] + b"}"
