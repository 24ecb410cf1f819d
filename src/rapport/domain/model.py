"""The nouns of the product, as frozen values the rules can reason about."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import NewType

MemberId = NewType("MemberId", int)
ConversationId = NewType("ConversationId", int)
MessageId = NewType("MessageId", int)
GroupId = NewType("GroupId", int)
InvitationId = NewType("InvitationId", int)


class Tier(StrEnum):
    FREE = "free"
    PREMIUM_CAREER = "premium_career"
    PREMIUM_BUSINESS = "premium_business"

    @property
    def is_premium(self) -> bool:
        return self is not Tier.FREE


class ConversationKind(StrEnum):
    DIRECT = "direct"
    GROUP_MEMBER = "group_member"
    OPEN_PROFILE = "open_profile"
    INMAIL = "inmail"
    GROUP_CHAT = "group_chat"
    MULTI = "multi"
    SPONSORED = "sponsored"

    @property
    def is_one_to_one_thread(self) -> bool:
        """Free 1:1 kinds share one thread per pair of members; InMail and sponsored don't."""
        return self in _SHARED_PAIR_KINDS


_SHARED_PAIR_KINDS = frozenset({ConversationKind.DIRECT, ConversationKind.GROUP_MEMBER, ConversationKind.OPEN_PROFILE})


class InvitationState(StrEnum):
    PENDING = "pending"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    WITHDRAWN = "withdrawn"


class InMailState(StrEnum):
    PENDING = "pending"
    ACCEPTED = "accepted"
    DECLINED = "declined"


class GroupRole(StrEnum):
    MEMBER = "member"
    MANAGER = "manager"
    ADMIN = "admin"

    @property
    def may_start_group_chat(self) -> bool:
        return self is not GroupRole.MEMBER

    @property
    def may_manage_requests(self) -> bool:
        """Admins and managers see, approve and decline join requests."""
        return self is not GroupRole.MEMBER


class GroupVisibility(StrEnum):
    """`open`: anyone joins at once; `request`: an admin or manager approves each join."""

    OPEN = "open"
    REQUEST = "request"


@dataclass(frozen=True, slots=True)
class MemberSettings:
    read_receipts_and_typing: bool = True
    open_profile: bool = False
    messages_from_group_members: bool = True
    sponsored_messages: bool = True


@dataclass(frozen=True, slots=True)
class Member:
    id: MemberId
    handle: str
    name: str
    headline: str
    industry: str
    location: str
    avatar_url: str | None
    tier: Tier
    settings: MemberSettings

    @property
    def has_open_profile(self) -> bool:
        """Open Profile is a premium feature: it lapses with the subscription."""
        return self.tier.is_premium and self.settings.open_profile


@dataclass(frozen=True, slots=True)
class Invitation:
    id: InvitationId
    from_id: MemberId
    to_id: MemberId
    note: str | None
    state: InvitationState
    created_at: datetime
