"""The schema, as SQLAlchemy Core tables. Migrations under migrations/ create it."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)

from rapport.store.types import UTCDateTime

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

# BigInteger on PostgreSQL; SQLite only makes INTEGER PRIMARY KEY an alias of the rowid.
Id = BigInteger().with_variant(Integer(), "sqlite")
false = text("false")
true = text("true")

members = Table(
    "members",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("handle", String(30), nullable=False, unique=True),
    Column("email", String(254), nullable=False, unique=True),
    Column("password_hash", String(200), nullable=False),
    Column("name", String(100), nullable=False),
    Column("headline", String(200), nullable=False, server_default=""),
    Column("industry", String(200), nullable=False, server_default=""),
    Column("location", String(200), nullable=False, server_default=""),
    Column("avatar_url", String(500)),
    Column("tier", String(20), nullable=False, server_default="free"),
    Column("open_profile", Boolean, nullable=False, server_default=false),
    Column("read_receipts_and_typing", Boolean, nullable=False, server_default=true),
    Column("messages_from_group_members", Boolean, nullable=False, server_default=true),
    Column("sponsored_messages", Boolean, nullable=False, server_default=true),
    Column("inmail_balance", Integer, nullable=False, server_default="0"),
    Column("inmail_granted_through", Integer, nullable=False, server_default="0"),
    Column("created_at", UTCDateTime, nullable=False),
    # Set while an operator has suspended the member: no sign-in, no session.
    Column("suspended_at", UTCDateTime),
)

tokens = Table(
    "tokens",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("member_id", Id, ForeignKey("members.id", ondelete="CASCADE"), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Index(None, "member_id"),
)

connections = Table(
    "connections",
    metadata,
    # Stored in both directions so "my connections" and degree queries use the primary key.
    Column("member_id", Id, ForeignKey("members.id", ondelete="CASCADE"), primary_key=True),
    Column("other_id", Id, ForeignKey("members.id", ondelete="CASCADE"), primary_key=True),
    Column("created_at", UTCDateTime, nullable=False),
)

blocks = Table(
    "blocks",
    metadata,
    Column("blocker_id", Id, ForeignKey("members.id", ondelete="CASCADE"), primary_key=True),
    Column("blocked_id", Id, ForeignKey("members.id", ondelete="CASCADE"), primary_key=True),
    Column("created_at", UTCDateTime, nullable=False),
    Index(None, "blocked_id"),
)

invitations = Table(
    "invitations",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("from_id", Id, ForeignKey("members.id", ondelete="CASCADE"), nullable=False),
    Column("to_id", Id, ForeignKey("members.id", ondelete="CASCADE"), nullable=False),
    Column("note", String(300)),
    Column("state", String(10), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("responded_at", UTCDateTime),
    Column("viewed_at", UTCDateTime),
    Index(None, "from_id", "created_at"),
    Index(None, "to_id", "state"),
)

groups = Table(
    "groups",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("name", String(100), nullable=False),
    Column("description", String(2000), nullable=False, server_default=""),
    Column("created_at", UTCDateTime, nullable=False),
    # "open": joining makes a member at once; "request": an admin or manager approves.
    Column("visibility", String(10), nullable=False, server_default="request"),
)

group_members = Table(
    "group_members",
    metadata,
    Column("group_id", Id, ForeignKey("groups.id", ondelete="CASCADE"), primary_key=True),
    Column("member_id", Id, ForeignKey("members.id", ondelete="CASCADE"), primary_key=True),
    Column("role", String(10), nullable=False),
    Column("joined_at", UTCDateTime, nullable=False),
    Index(None, "member_id"),
    # Who handles requests: a group's admins and managers, without reading all its members.
    Index(None, "group_id", "role"),
)

group_requests = Table(
    "group_requests",
    metadata,
    Column("group_id", Id, ForeignKey("groups.id", ondelete="CASCADE"), primary_key=True),
    Column("member_id", Id, ForeignKey("members.id", ondelete="CASCADE"), primary_key=True),
    Column("requested_at", UTCDateTime, nullable=False),
    Index(None, "member_id"),
)

conversations = Table(
    "conversations",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("kind", String(20), nullable=False),
    Column("subject", String(200)),
    # "lo:hi" member ids for the one free 1:1 thread per pair; NULL for every other kind.
    Column("pair_key", String(50), unique=True),
    Column("group_id", Id, ForeignKey("groups.id", ondelete="SET NULL")),
    Column("created_by", Id, ForeignKey("members.id", ondelete="SET NULL")),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("last_message_id", Id),
    Column("inmail_sender_id", Id),
    Column("inmail_recipient_id", Id),
    Column("inmail_state", String(10)),
    Column("inmail_charged", Boolean, nullable=False, server_default=false),
    Column("inmail_answered_at", UTCDateTime),
    # Group chats and multi conversations may be named by their participants.
    Column("title", String(100)),
    Index(None, "inmail_sender_id", "inmail_recipient_id", "inmail_state"),
    # The monthly cap counts a sender's new group-member conversations.
    Index(None, "created_by", "kind", "created_at"),
)

participants = Table(
    "participants",
    metadata,
    Column(
        "conversation_id",
        Id,
        ForeignKey("conversations.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("member_id", Id, ForeignKey("members.id", ondelete="CASCADE"), primary_key=True),
    Column("joined_at", UTCDateTime, nullable=False),
    # Copied from the conversation so one index answers "my inbox, newest first".
    Column("last_activity_at", UTCDateTime, nullable=False),
    Column("archived", Boolean, nullable=False, server_default=false),
    Column("muted", Boolean, nullable=False, server_default=false),
    Column("marked_unread", Boolean, nullable=False, server_default=false),
    Column("hidden", Boolean, nullable=False, server_default=false),
    Column("unread_count", Integer, nullable=False, server_default="0"),
    # Messages up to this id were deleted by this member for themselves.
    Column("cleared_through", Id, nullable=False, server_default="0"),
    # Private read position: drives the member's own unread count, never shown to others.
    Column("read_up_to", Id, nullable=False, server_default="0"),
    Column("delivered_up_to", Id, nullable=False, server_default="0"),
    Index(None, "member_id", "last_activity_at", "conversation_id"),
)

messages = Table(
    "messages",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("conversation_id", Id, ForeignKey("conversations.id", ondelete="CASCADE"), nullable=False),
    Column("sender_id", Id, ForeignKey("members.id", ondelete="SET NULL")),
    Column("body", Text, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("edited_at", UTCDateTime),
    Column("deleted", Boolean, nullable=False, server_default=false),
    Column("client_id", String(100)),
    Column("attachment_count", Integer, nullable=False, server_default="0"),
    # JSON list of the member ids the body @mentions; NULL when none.
    Column("mentions", Text),
    # JSON of a system line ({"action": "added"|"removed"|"left"|"renamed", ...}); NULL for members' messages.
    Column("system", Text),
    # Covering: engagement insight walks every message a member sent and the first reply
    # after each (the thread's next message by someone else) without reading the rows.
    Index(None, "conversation_id", "id", "sender_id", "created_at"),
    Index(None, "sender_id", "conversation_id", "id", "created_at"),
    UniqueConstraint("sender_id", "client_id"),
)

read_receipts = Table(
    "read_receipts",
    metadata,
    # One row per read that moved a reader's position; `shared` is decided at reading time.
    Column(
        "conversation_id",
        Id,
        ForeignKey("conversations.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("reader_id", Id, ForeignKey("members.id", ondelete="CASCADE"), primary_key=True),
    Column("message_id", Id, primary_key=True),
    Column("read_at", UTCDateTime, nullable=False),
    Column("shared", Boolean, nullable=False),
)

reactions = Table(
    "reactions",
    metadata,
    Column("message_id", Id, ForeignKey("messages.id", ondelete="CASCADE"), primary_key=True),
    Column("member_id", Id, ForeignKey("members.id", ondelete="CASCADE"), primary_key=True),
    Column("emoji", String(16), primary_key=True),
    Column("created_at", UTCDateTime, nullable=False),
)

event_counters = Table(
    "event_counters",
    metadata,
    Column("member_id", Id, ForeignKey("members.id", ondelete="CASCADE"), primary_key=True),
    Column("last_seq", BigInteger, nullable=False, server_default="0"),
)

events = Table(
    "events",
    metadata,
    Column("member_id", Id, ForeignKey("members.id", ondelete="CASCADE"), primary_key=True),
    Column("seq", BigInteger, primary_key=True, autoincrement=False),
    Column("type", String(40), nullable=False),
    # The event's JSON without its seq, spliced in when served: no re-encoding on reads.
    Column("body", Text, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
)

notifications = Table(
    "notifications",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("member_id", Id, ForeignKey("members.id", ondelete="CASCADE"), nullable=False),
    Column("kind", String(30), nullable=False),
    Column("actor_id", Id, ForeignKey("members.id", ondelete="CASCADE")),
    Column("subject_id", Id),
    Column("created_at", UTCDateTime, nullable=False),
    Column("read_at", UTCDateTime),
    # Where a click leads for kinds about a conversation (a mention); NULL otherwise.
    Column("conversation_id", Id),
    Index(None, "member_id", "id"),
)

notification_preferences = Table(
    "notification_preferences",
    metadata,
    # Only what the member changed; domain.notify.resolve adds the defaults.
    Column("member_id", Id, ForeignKey("members.id", ondelete="CASCADE"), primary_key=True),
    Column("choices", Text, nullable=False, server_default="{}"),
    Column("email_previews", Boolean, nullable=False, server_default=true),
)

push_subscriptions = Table(
    "push_subscriptions",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("member_id", Id, ForeignKey("members.id", ondelete="CASCADE"), nullable=False),
    # A browser's push endpoint is its identity: registering it again moves it, never copies it.
    Column("endpoint", String(2000), nullable=False, unique=True),
    Column("p256dh", String(100), nullable=False),
    Column("auth", String(50), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Index(None, "member_id"),
)

message_alerts = Table(
    "message_alerts",
    metadata,
    # Per member and conversation: which messages e-mail and push already covered, and the
    # e-mail back-off (domain.notify.EmailThrottle). Written only when an alert goes out.
    Column("member_id", Id, ForeignKey("members.id", ondelete="CASCADE"), primary_key=True),
    Column("conversation_id", Id, ForeignKey("conversations.id", ondelete="CASCADE"), primary_key=True),
    Column("emailed_through", Id, nullable=False, server_default="0"),
    Column("pushed_through", Id, nullable=False, server_default="0"),
    Column("last_email_at", UTCDateTime),
    Column("throttle_seconds", Integer, nullable=False, server_default="0"),
)

network_settings = Table(
    "network_settings",
    metadata,
    Column("key", String(50), primary_key=True),
    Column("value", String(200), nullable=False),
)

attachments = Table(
    "attachments",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("owner_id", Id, ForeignKey("members.id", ondelete="CASCADE"), nullable=False),
    # The blob's key in the content-addressed store: equal files share one blob.
    Column("sha256", String(64), nullable=False),
    Column("name", String(255), nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("content_type", String(100), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    # NULL until a message claims the upload; unclaimed uploads are swept after a grace period.
    Column("message_id", Id, ForeignKey("messages.id", ondelete="CASCADE")),
    Column("conversation_id", Id),
    Column("position", Integer, nullable=False, server_default="0"),
    Index(None, "message_id", "created_at"),
    Index(None, "sha256"),
    Index(None, "owner_id"),
)

jobs = Table(
    "jobs",
    metadata,
    # Durable background work (rapport.jobs): one row per job, claimed with a lease.
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("kind", String(50), nullable=False),
    # Enqueueing a (kind, key) that is still waiting or running is a no-op. NULL: no de-duplication.
    Column("key", String(200)),
    Column("payload", Text, nullable=False),
    Column("run_at", UTCDateTime, nullable=False),
    Column("attempts", Integer, nullable=False, server_default="0"),
    # pending → running → (deleted when done) | failed (kept, key cleared, for the operator).
    Column("state", String(10), nullable=False),
    Column("lease_owner", String(100)),
    Column("lease_expires_at", UTCDateTime),
    Column("last_error", Text),
    Column("created_at", UTCDateTime, nullable=False),
    UniqueConstraint("kind", "key"),
    Index(None, "state", "run_at"),
)

receipt_switch_changes = Table(
    "receipt_switch_changes",
    metadata,
    # Each change of a "read receipts and typing" switch, so a past read is judged by the
    # switches of its time (engagement insight). member_id NULL: the operator's switch.
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("member_id", Id, ForeignKey("members.id", ondelete="CASCADE")),
    Column("enabled", Boolean, nullable=False),
    Column("changed_at", UTCDateTime, nullable=False),
    Index(None, "member_id", "changed_at"),
)

follow_up_dismissals = Table(
    "follow_up_dismissals",
    metadata,
    # A dismissed follow-up suggestion stays hidden until the conversation's next message.
    Column("member_id", Id, ForeignKey("members.id", ondelete="CASCADE"), primary_key=True),
    Column("conversation_id", Id, ForeignKey("conversations.id", ondelete="CASCADE"), primary_key=True),
    Column("dismissed_at", UTCDateTime, nullable=False),
)

# "Conversations started" counts a member's conversations without reading the whole table.
Index("ix_conversations_created_by", conversations.c.created_by)

# --- sponsored messages (DESIGN §2) ------------------------------------------------------

advertisers = Table(
    "advertisers",
    metadata,
    # Granted by the operator; only these members may create campaigns.
    Column("member_id", Id, ForeignKey("members.id", ondelete="CASCADE"), primary_key=True),
    Column("granted_at", UTCDateTime, nullable=False),
)

campaigns = Table(
    "campaigns",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("advertiser_id", Id, ForeignKey("members.id", ondelete="CASCADE"), nullable=False),
    Column("name", String(100), nullable=False),
    Column("subject", String(60), nullable=False),
    Column("body", Text, nullable=False),
    Column("banner_attachment_id", Id, ForeignKey("attachments.id", ondelete="SET NULL")),
    # JSON: [{id, label, url}], {profile_fields, questions} or NULL, {industries, locations, tiers, headline_keywords}
    Column("buttons", Text, nullable=False),
    Column("lead_form", Text),
    Column("audience", Text, nullable=False),
    Column("state", String(10), nullable=False),
    Column("audience_size", Integer, nullable=False, server_default="0"),
    # Counters only: who opened or clicked is never kept where the advertiser can reach it.
    Column("delivered", Integer, nullable=False, server_default="0"),
    Column("skipped", Integer, nullable=False, server_default="0"),
    Column("opened", Integer, nullable=False, server_default="0"),
    Column("clicked", Integer, nullable=False, server_default="0"),
    Column("leads", Integer, nullable=False, server_default="0"),
    Column("shards_pending", Integer, nullable=False, server_default="0"),
    Column("created_at", UTCDateTime, nullable=False),
    Column("launched_at", UTCDateTime),
    Column("finished_at", UTCDateTime),
    Index(None, "advertiser_id", "id"),
)

campaign_shards = Table(
    "campaign_shards",
    metadata,
    # One slice of the audience by member id, delivered page by page; `next_id` moves in
    # the same transaction as the page it delivered, so a crash repeats no page.
    Column("campaign_id", Id, ForeignKey("campaigns.id", ondelete="CASCADE"), primary_key=True),
    Column("shard", Integer, primary_key=True, autoincrement=False),
    Column("next_id", BigInteger, nullable=False),
    Column("end_id", BigInteger, nullable=False),
    Column("done", Boolean, nullable=False, server_default=false),
)

sponsored_deliveries = Table(
    "sponsored_deliveries",
    metadata,
    # The unique key per campaign x member: no member ever gets a campaign twice.
    Column("campaign_id", Id, ForeignKey("campaigns.id", ondelete="CASCADE"), primary_key=True),
    Column("member_id", Id, ForeignKey("members.id", ondelete="CASCADE"), primary_key=True),
    Column("conversation_id", Id, ForeignKey("conversations.id", ondelete="CASCADE"), nullable=False, unique=True),
    Column("message_id", Id, nullable=False),
    Column("delivered_at", UTCDateTime, nullable=False),
    # Private to the member's own thread (dedupes the click counter); no route reads it for the advertiser.
    Column("clicked", Boolean, nullable=False, server_default=false),
    Column("declined", Boolean, nullable=False, server_default=false),
    Index(None, "member_id"),
)

sponsored_caps = Table(
    "sponsored_caps",
    metadata,
    # When the member last received a sponsored message: the frequency cap's one fact.
    Column("member_id", Id, ForeignKey("members.id", ondelete="CASCADE"), primary_key=True),
    Column("last_received_at", UTCDateTime, nullable=False),
)

campaign_leads = Table(
    "campaign_leads",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("campaign_id", Id, ForeignKey("campaigns.id", ondelete="CASCADE"), nullable=False),
    Column("member_id", Id, ForeignKey("members.id", ondelete="CASCADE"), nullable=False),
    Column("answers", Text, nullable=False),
    Column("submitted_at", UTCDateTime, nullable=False),
    UniqueConstraint("campaign_id", "member_id"),
)

member_avatars = Table(
    "member_avatars",
    metadata,
    # An uploaded profile picture, already cropped square and small (a few KB): one per member.
    Column("member_id", Id, ForeignKey("members.id", ondelete="CASCADE"), primary_key=True),
    Column("version", String(16), nullable=False),
    Column("content_type", String(50), nullable=False),
    Column("data", LargeBinary, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)

reports = Table(
    "reports",
    metadata,
    # A member's report of a conversation, for the operator's moderators. Never shown to the
    # reported member; the reporter is kept only to refuse a second report of the same thread.
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("reporter_id", Id, ForeignKey("members.id", ondelete="SET NULL")),
    Column("reported_id", Id, ForeignKey("members.id", ondelete="SET NULL")),
    Column("conversation_id", Id, ForeignKey("conversations.id", ondelete="CASCADE"), nullable=False),
    Column("reason", String(20), nullable=False),
    Column("note", String(1000)),
    Column("state", String(10), nullable=False),
    Column("action", String(10)),
    Column("created_at", UTCDateTime, nullable=False),
    Column("resolved_at", UTCDateTime),
    UniqueConstraint("reporter_id", "conversation_id"),
    Index(None, "state", "id"),
)
