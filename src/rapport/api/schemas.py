"""Request and response shapes of the public API (API.md). Kept apart from domain types."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictBool

# --- text ------------------------------------------------------------------------------


def unstorable(value: str) -> str | None:
    """Why `value` cannot be stored as text on every store, or None when it can.

    PostgreSQL refuses U+0000 in text, and no store can encode a lone surrogate (JSON lets
    a client send `"\\ud800"`) as UTF-8: either would fail inside the database, as a 500.
    """
    if "\x00" in value:
        return "must not contain the NUL character (U+0000)"
    if not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return "must be valid Unicode text (no lone surrogates)"
    return None


def _storable(value: str) -> str:
    reason = unstorable(value)
    if reason is not None:
        raise ValueError(reason)
    return value


Text = Annotated[str, AfterValidator(_storable)]
"""Every string a client sends that may reach the store: body fields, query and path parameters."""


class Shape(BaseModel):
    model_config = ConfigDict(extra="ignore")


# --- notifications -------------------------------------------------------------------


class NotificationPreferencesUpdate(Shape):
    preferences: dict[str, dict[str, StrictBool]] | None = None
    email_previews: StrictBool | None = None


class PushKeys(Shape):
    p256dh: Text = Field(max_length=200)
    auth: Text = Field(max_length=100)


class PushSubscriptionCreate(Shape):
    endpoint: Text = Field(max_length=4000)
    keys: PushKeys


# --- requests --------------------------------------------------------------------------


class RegisterCreate(Shape):
    handle: Text = Field(max_length=200)
    name: Text = Field(max_length=1000)
    email: Text = Field(max_length=400)
    password: Text = Field(max_length=1000)


class LoginCreate(Shape):
    login: Text = Field(max_length=400)
    password: Text = Field(max_length=1000)


class ProfileUpdate(Shape):
    name: Text | None = Field(default=None, max_length=1000)
    headline: Text | None = Field(default=None, max_length=1000)
    industry: Text | None = Field(default=None, max_length=1000)
    location: Text | None = Field(default=None, max_length=1000)


class SettingsUpdate(Shape):
    read_receipts_and_typing: StrictBool | None = None
    open_profile: StrictBool | None = None
    messages_from_group_members: StrictBool | None = None
    sponsored_messages: StrictBool | None = None


class TierUpdate(Shape):
    tier: Text = Field(max_length=50)


class NetworkSettingsUpdate(Shape):
    read_receipts: StrictBool


class InvitationCreate(Shape):
    to: Text = Field(max_length=200)
    note: Text | None = Field(default=None, max_length=100_000)


class BlockCreate(Shape):
    handle: Text = Field(max_length=200)


class GroupCreate(Shape):
    name: Text = Field(max_length=1000)
    description: Text = Field(default="", max_length=100_000)
    visibility: Text | None = Field(default=None, max_length=50)


class ParticipantsAdd(Shape):
    handles: list[Text] = Field(max_length=1000)


class RoleUpdate(Shape):
    role: Text = Field(max_length=50)


class ConversationCreate(Shape):
    to: list[Text] = Field(max_length=1000)
    body: Text = Field(default="", max_length=1_000_000)
    kind: Text | None = Field(default=None, max_length=50)
    subject: Text | None = Field(default=None, max_length=100_000)
    client_id: Text | None = Field(default=None, min_length=1, max_length=100)
    attachments: list[Text] = Field(default_factory=list, max_length=1000)
    group_id: Text | None = Field(default=None, max_length=40)


class AvatarUpdate(Shape):
    attachment_id: Text = Field(max_length=40)


class RecipientsCheck(Shape):
    to: list[Text] = Field(max_length=1000)


class MessageCreate(Shape):
    body: Text = Field(default="", max_length=1_000_000)
    client_id: Text | None = Field(default=None, min_length=1, max_length=100)
    attachments: list[Text] = Field(default_factory=list, max_length=1000)


class MessageUpdate(Shape):
    body: Text = Field(max_length=1_000_000)


class ConversationUpdate(Shape):
    archived: StrictBool | None = None
    muted: StrictBool | None = None
    unread: StrictBool | None = None
    title: Text | None = Field(default=None, max_length=10_000)


class ReadCreate(Shape):
    message_id: Text = Field(max_length=40)


class TypingCreate(Shape):
    typing: StrictBool


class AdvertiserUpdate(Shape):
    advertiser: StrictBool


class ButtonCreate(Shape):
    label: Text = Field(max_length=1000)
    url: Text = Field(max_length=10_000)


class QuestionCreate(Shape):
    id: Text = Field(max_length=100)
    label: Text = Field(max_length=10_000)
    required: StrictBool = True


class LeadFormCreate(Shape):
    profile_fields: list[Text] = Field(default_factory=list, max_length=100)
    questions: list[QuestionCreate] = Field(default_factory=list, max_length=100)


class AudienceCreate(Shape):
    industries: list[Text] = Field(default_factory=list, max_length=1000)
    locations: list[Text] = Field(default_factory=list, max_length=1000)
    tiers: list[Text] = Field(default_factory=list, max_length=100)
    headline_keywords: list[Text] = Field(default_factory=list, max_length=1000)


class CampaignCreate(Shape):
    name: Text = Field(max_length=10_000)
    subject: Text = Field(max_length=10_000)
    body: Text = Field(max_length=100_000)
    banner_attachment: Text | None = Field(default=None, max_length=40)
    buttons: list[ButtonCreate] = Field(max_length=100)
    lead_form: LeadFormCreate | None = None
    audience: AudienceCreate = Field(default_factory=AudienceCreate)


class ClickCreate(Shape):
    button_id: Text = Field(max_length=40)


class LeadCreate(Shape):
    answers: dict[Text, Text] = Field(max_length=100)


# --- responses (for the OpenAPI document; routes return pre-shaped JSON) ----------------


class MemberRead(Shape):
    id: str
    handle: str
    name: str
    headline: str
    industry: str
    location: str
    tier: Literal["free", "premium_career", "premium_business"]
    open_profile: bool
    avatar_url: str | None


class SettingsRead(Shape):
    read_receipts_and_typing: bool
    open_profile: bool
    messages_from_group_members: bool
    sponsored_messages: bool


class SessionRead(Shape):
    member: MemberRead
    token: str


class GroupMessagesRead(Shape):
    limit: int
    used: int
    left: int
    resets_at: str


class MeRead(Shape):
    member: MemberRead
    settings: SettingsRead
    inmail_credits: int
    group_messages: GroupMessagesRead


class MemberOnly(Shape):
    member: MemberRead


class SettingsOnly(Shape):
    settings: SettingsRead


class ProfileRead(Shape):
    member: MemberRead
    degree: int | None


class MembersRead(Shape):
    members: list[MemberRead]


class InvitationRead(Shape):
    id: str
    from_: str = Field(alias="from")
    to: str
    note: str | None
    state: Literal["pending", "accepted", "declined", "withdrawn"]
    created_at: str


class InvitationOnly(Shape):
    invitation: InvitationRead


class InvitationsRead(Shape):
    invitations: list[InvitationRead]


class ConnectionsRead(Shape):
    connections: list[MemberRead]


class ReadBy(Shape):
    member: MemberRead
    read_at: str


class MessageRead(Shape):
    id: str
    conversation_id: str
    sender: MemberRead | None
    body: str
    attachments: list[dict[str, object]]
    created_at: str
    edited_at: str | None
    deleted: bool
    client_id: str | None
    status: Literal["sent", "delivered", "read"] | None
    read_by: list[ReadBy] | None
    mentions: list[MemberRead] = []
    system: dict[str, object] | None = None


class ConversationRead(Shape):
    id: str
    kind: str
    subject: str | None
    participants: list[MemberRead]
    last_message: MessageRead | None
    unread_count: int
    archived: bool
    muted: bool
    updated_at: str
    title: str | None = None
    group_id: str | None = None


class ConversationOnly(Shape):
    conversation: ConversationRead


class ConversationStarted(Shape):
    conversation: ConversationRead
    message: MessageRead


class ConversationsRead(Shape):
    conversations: list[ConversationRead]
    next_cursor: str | None


class MessageOnly(Shape):
    message: MessageRead


class MessagesRead(Shape):
    messages: list[MessageRead]


class EventsRead(Shape):
    events: list[dict[str, object]]
    next: int


class ErrorDetail(Shape):
    code: str
    message: str


class ErrorRead(Shape):
    error: ErrorDetail


# --- safety: sessions, reports, data rights -----------------------------------------------


class PasswordChange(Shape):
    current: Text = Field(max_length=1000)
    new: Text = Field(max_length=1000)


class CampaignRead(Shape):
    id: str
    name: str
    state: Literal["draft", "sending", "sent"]
    audience_size: int
    delivered: int
    skipped: int
    created_at: str
    launched_at: str | None
    finished_at: str | None
    subject: str
    body: str
    banner_attachment: str | None
    banner_url: str | None
    buttons: list[dict[str, str]]
    lead_form: dict[str, object] | None
    audience: dict[str, list[str]]


class CampaignStats(Shape):
    sent: int
    opened: int
    clicked: int
    leads: int


class CampaignOnly(Shape):
    campaign: CampaignRead


class CampaignWithStats(Shape):
    campaign: CampaignRead
    stats: CampaignStats


class CampaignsRead(Shape):
    campaigns: list[CampaignRead]


class LeadRead(Shape):
    member: MemberRead | None
    answers: dict[str, str]
    submitted_at: str


class LeadsRead(Shape):
    leads: list[LeadRead]


class LeadOnly(Shape):
    lead: dict[str, object]


class ClickRead(Shape):
    url: str


class ReportCreate(Shape):
    reason: Literal["spam", "harassment", "inappropriate", "other"]
    note: Text | None = Field(default=None, max_length=1000)
    block: StrictBool = False


class ReportResolve(Shape):
    action: Literal["dismiss", "suspend"]


class AccountDelete(Shape):
    password: Text = Field(max_length=1000)
