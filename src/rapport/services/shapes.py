"""The JSON shapes of API.md, built once per viewer for responses and events alike."""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from rapport.domain.model import Invitation, InvitationState, Member, MemberId, Tier
from rapport.store.conversations import ConversationRow, ParticipantRow
from rapport.store.messages import MessageRow


def iso(at: datetime | None) -> str | None:
    return None if at is None else at.isoformat().replace("+00:00", "Z")


def avatar_url(member: Member) -> str:
    return member.avatar_url or f"/avatars/{member.handle}.svg"


DELETED_MEMBER: dict[str, Any] = {
    "id": None,
    "handle": None,
    "name": "Deleted member",
    "headline": "",
    "industry": "",
    "location": "",
    "tier": None,
    "open_profile": False,
    "avatar_url": None,
}
"""The sender of a message whose author erased their account (API.md "Safety")."""


def member_json(member: Member) -> dict[str, Any]:
    return {
        "id": str(member.id),
        "handle": member.handle,
        "name": member.name,
        "headline": member.headline,
        "industry": member.industry,
        "location": member.location,
        "tier": member.tier.value,
        "open_profile": member.has_open_profile,
        "avatar_url": avatar_url(member),
    }


_PREMIUM = {tier.value: tier.is_premium for tier in Tier}


def public_member_json(
    id: int,
    handle: str,
    name: str,
    headline: str,
    industry: str,
    location: str,
    avatar: str | None,
    tier: str,
    open_profile: Any,
) -> dict[str, Any]:
    """`member_json` of a member read as the columns store/inbox.MEMBER_COLUMNS, without the
    `Member` in between (an inbox page shows up to a hundred conversations' members)."""
    return {
        "id": str(id),
        "handle": handle,
        "name": name,
        "headline": headline,
        "industry": industry,
        "location": location,
        "tier": tier,
        "open_profile": _PREMIUM[tier] and bool(open_profile),
        "avatar_url": avatar or f"/avatars/{handle}.svg",
    }


def settings_json(member: Member) -> dict[str, Any]:
    s = member.settings
    return {
        "read_receipts_and_typing": s.read_receipts_and_typing,
        "open_profile": s.open_profile,
        "messages_from_group_members": s.messages_from_group_members,
        "sponsored_messages": s.sponsored_messages,
    }


def invitation_json(invitation: Invitation, *, viewer: MemberId, members: Mapping[MemberId, Member]) -> dict[str, Any]:
    state = invitation.state
    if state is InvitationState.DECLINED and viewer == invitation.from_id:
        state = InvitationState.PENDING  # a decline is silent: the sender keeps seeing pending
    sender, recipient = members[invitation.from_id], members[invitation.to_id]
    return {
        "id": str(invitation.id),
        "from": sender.handle,
        "to": recipient.handle,
        "from_member": member_json(sender),
        "to_member": member_json(recipient),
        "note": invitation.note,
        "state": state.value,
        "created_at": iso(invitation.created_at),
    }


class ReadView:
    """What a viewer may see of other members' reads of their messages in one conversation."""

    def __init__(
        self,
        *,
        delivered_through: int,
        receipts: Sequence[tuple[int, datetime]] = (),
        reader: Member | None = None,
    ) -> None:
        self.delivered_through = delivered_through
        self._ids = [m for m, _ in receipts]
        self._times = [at for _, at in receipts]
        self.reader = reader

    def read_at(self, message_id: int) -> datetime | None:
        """The time of the first shared read that covered `message_id`."""
        i = bisect_left(self._ids, message_id)
        return self._times[i] if i < len(self._ids) and self.reader is not None else None


NO_READS = ReadView(delivered_through=0)


def message_json(
    message: MessageRow,
    *,
    viewer: MemberId,
    members: Mapping[MemberId, Member],
    reads: ReadView = NO_READS,
    reactions: Sequence[tuple[str, MemberId]] = (),
    attachments: Sequence[Mapping[str, Any]] = (),
) -> dict[str, Any]:
    sender = members.get(message.sender_id) if message.sender_id is not None else None
    own = message.sender_id == viewer
    status: str | None = None
    read_by: list[dict[str, Any]] | None = None
    if own:
        read_at = None if message.deleted else reads.read_at(message.id)
        if read_at is not None and reads.reader is not None:
            status, read_by = "read", [{"member": member_json(reads.reader), "read_at": iso(read_at)}]
        else:
            status = "delivered" if reads.delivered_through >= message.id else "sent"
            read_by = []
    return {
        "id": str(message.id),
        "conversation_id": str(message.conversation_id),
        "sender": member_json(sender) if sender else (DELETED_MEMBER if message.sender_id is None else None),
        "body": "" if message.deleted else message.body,
        "attachments": [] if message.deleted else list(attachments),
        "created_at": iso(message.created_at),
        "edited_at": iso(message.edited_at),
        "deleted": message.deleted,
        "client_id": message.client_id if own else None,
        "status": status,
        "read_by": read_by,
        "reactions": _reactions_json(reactions, members),
        "mentions": [] if message.deleted else [member_json(members[m]) for m in message.mentioned_ids if m in members],
        "system": message.system_line,
    }


def _reactions_json(
    reactions: Sequence[tuple[str, MemberId]], members: Mapping[MemberId, Member]
) -> list[dict[str, Any]]:
    grouped: dict[str, list[str]] = {}
    for emoji, member_id in reactions:
        member = members.get(member_id)
        grouped.setdefault(emoji, []).append(member.handle if member else "")
    return [{"emoji": e, "count": len(h), "members": h} for e, h in grouped.items()]


def conversation_json(
    conversation: ConversationRow,
    participant: ParticipantRow,
    *,
    member_ids: Sequence[MemberId],
    members: Mapping[MemberId, Member],
    last_message: dict[str, Any] | None,
) -> dict[str, Any]:
    unread = participant.unread_count
    if participant.marked_unread and unread == 0:
        unread = 1
    return {
        "id": str(conversation.id),
        "kind": conversation.kind.value,
        "subject": conversation.subject,
        "participants": [member_json(members[m]) for m in member_ids if m in members],
        "last_message": last_message,
        "unread_count": unread,
        "archived": participant.archived,
        "muted": participant.muted,
        "updated_at": iso(participant.last_activity_at),
        "inmail_state": conversation.inmail_state.value if conversation.inmail_state else None,
        "group_id": str(conversation.group_id) if conversation.group_id else None,
        "title": conversation.title,
    }
