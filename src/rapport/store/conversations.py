"""Conversations, their participants and each member's inbox state."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    bindparam,
    case,
    delete,
    exists,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncConnection

from rapport.domain.model import ConversationId, ConversationKind, InMailState, MemberId, MessageId
from rapport.store.dialect import Database
from rapport.store.prepared import Prepared, in_ids
from rapport.store.tables import blocks, conversations, members, participants


@dataclass(frozen=True, slots=True)
class ConversationRow:
    id: ConversationId
    kind: ConversationKind
    subject: str | None
    group_id: int | None
    created_at: datetime
    updated_at: datetime
    last_message_id: MessageId | None
    inmail_sender_id: MemberId | None
    inmail_recipient_id: MemberId | None
    inmail_state: InMailState | None
    inmail_charged: bool
    inmail_answered_at: datetime | None
    title: str | None = None
    created_by: MemberId | None = None

    @property
    def is_one_to_one(self) -> bool:
        return self.kind not in (ConversationKind.MULTI, ConversationKind.GROUP_CHAT)


@dataclass(frozen=True, slots=True)
class ParticipantRow:
    conversation_id: ConversationId
    member_id: MemberId
    archived: bool
    muted: bool
    marked_unread: bool
    hidden: bool
    unread_count: int
    cleared_through: int
    read_up_to: int
    delivered_up_to: int
    last_activity_at: datetime


def _conversation(r: Any) -> ConversationRow:
    return ConversationRow(
        id=ConversationId(r["id"]),
        kind=ConversationKind(r["kind"]),
        subject=r["subject"],
        group_id=r["group_id"],
        created_at=r["created_at"],
        updated_at=r["updated_at"],
        last_message_id=r["last_message_id"],
        inmail_sender_id=r["inmail_sender_id"],
        inmail_recipient_id=r["inmail_recipient_id"],
        inmail_state=InMailState(r["inmail_state"]) if r["inmail_state"] else None,
        inmail_charged=r["inmail_charged"],
        inmail_answered_at=r["inmail_answered_at"],
        title=r["title"],
        created_by=r["created_by"],
    )


_CONVERSATION = (
    conversations.c.id,
    conversations.c.kind,
    conversations.c.subject,
    conversations.c.group_id,
    conversations.c.created_at,
    conversations.c.updated_at,
    conversations.c.last_message_id,
    conversations.c.inmail_sender_id,
    conversations.c.inmail_recipient_id,
    conversations.c.inmail_state,
    conversations.c.inmail_charged,
    conversations.c.inmail_answered_at,
    conversations.c.title,
    conversations.c.created_by,
)
_PARTICIPANT = (
    participants.c.conversation_id,
    participants.c.member_id,
    participants.c.archived,
    participants.c.muted,
    participants.c.marked_unread,
    participants.c.hidden,
    participants.c.unread_count,
    participants.c.cleared_through,
    participants.c.read_up_to,
    participants.c.delivered_up_to,
    participants.c.last_activity_at,
)


def _participant(r: Any) -> ParticipantRow:
    return ParticipantRow(**{k: r[k] for k in ParticipantRow.__slots__})


def pair_key(a: int, b: int) -> str:
    lo, hi = sorted((a, b))
    return f"{lo}:{hi}"


_GET = Prepared(select(*_CONVERSATION).where(conversations.c.id == bindparam("conversation_id")))
_PARTICIPANT_IDS = Prepared(
    select(participants.c.member_id)
    .where(participants.c.conversation_id == bindparam("conversation_id"))
    .order_by(participants.c.member_id)
)
_BLOCK_WITH_MEMBER = or_(
    exists().where(blocks.c.blocker_id == bindparam("member"), blocks.c.blocked_id == participants.c.member_id),
    exists().where(blocks.c.blocker_id == participants.c.member_id, blocks.c.blocked_id == bindparam("member")),
)
"""Whether a block stands, either way, between a participant and the member bound as `member`."""
_PARTICIPANTS_BLOCKING = Prepared(
    select(
        participants.c.member_id,
        _BLOCK_WITH_MEMBER,
    )
    .where(participants.c.conversation_id == bindparam("conversation_id"))
    .order_by(participants.c.member_id)
)
_TYPING_VIEW = Prepared(
    select(
        conversations.c.kind,
        participants.c.member_id,
        members.c.read_receipts_and_typing,
        _BLOCK_WITH_MEMBER,
    )
    .select_from(
        participants.join(conversations, conversations.c.id == participants.c.conversation_id).join(
            members, members.c.id == participants.c.member_id
        )
    )
    .where(participants.c.conversation_id == bindparam("conversation_id"))
)
_TOUCH = Prepared(
    update(conversations)
    .where(conversations.c.id == bindparam("conversation_id"))
    .values(last_message_id=bindparam("message_id"), updated_at=bindparam("at"))
)
_IS_SENDER = participants.c.member_id == bindparam("sender_id")
_COUNT_MESSAGE = Prepared(
    update(participants)
    .where(participants.c.conversation_id == bindparam("conversation"))
    .values(
        last_activity_at=bindparam("at"),
        hidden=False,
        # A new message brings an archived thread back to the recipients' inboxes (DESIGN §3).
        archived=case((_IS_SENDER, participants.c.archived), else_=False),
        unread_count=case((_IS_SENDER, 0), else_=participants.c.unread_count + 1),
        read_up_to=case((_IS_SENDER, bindparam("message_id")), else_=participants.c.read_up_to),
        delivered_up_to=case((_IS_SENDER, bindparam("message_id")), else_=participants.c.delivered_up_to),
        marked_unread=case((_IS_SENDER, False), else_=participants.c.marked_unread),
    )
)


async def get(conn: AsyncConnection, *, conversation_id: int) -> ConversationRow | None:
    row = await _GET.mapping(conn, conversation_id=conversation_id)
    return _conversation(row) if row else None


async def get_pair(conn: AsyncConnection, *, a: int, b: int) -> ConversationRow | None:
    row = (await conn.execute(select(*_CONVERSATION).where(conversations.c.pair_key == pair_key(a, b)))).first()
    return _conversation(row._mapping) if row else None


async def add(
    conn: AsyncConnection,
    *,
    kind: ConversationKind,
    member_ids: Sequence[int],
    created_by: int,
    at: datetime,
    subject: str | None = None,
    group_id: int | None = None,
    inmail_recipient_id: int | None = None,
    inmail_charged: bool = False,
) -> ConversationRow:
    is_inmail = kind is ConversationKind.INMAIL
    values: dict[str, Any] = {
        "kind": kind.value,
        "subject": subject,
        "group_id": group_id,
        "created_by": created_by,
        "created_at": at,
        "updated_at": at,
        "pair_key": pair_key(*member_ids) if kind.is_one_to_one_thread else None,
        "inmail_sender_id": created_by if is_inmail else None,
        "inmail_recipient_id": inmail_recipient_id if is_inmail else None,
        "inmail_state": InMailState.PENDING.value if is_inmail else None,
        "inmail_charged": inmail_charged,
    }
    row = (await conn.execute(insert(conversations).values(**values).returning(*_CONVERSATION))).one()
    await conn.execute(
        insert(participants),
        [{"conversation_id": row.id, "member_id": m, "joined_at": at, "last_activity_at": at} for m in member_ids],
    )
    return _conversation(row._mapping)


_PARTICIPANTS = Prepared(
    select(*_PARTICIPANT)
    .where(participants.c.conversation_id == bindparam("conversation_id"))
    .order_by(participants.c.member_id)
)
_READ = Prepared(
    update(participants)
    .where(participants.c.conversation_id == bindparam("conversation"), participants.c.member_id == bindparam("member"))
    .values(
        read_up_to=bindparam("read_up_to"),
        delivered_up_to=bindparam("delivered_up_to"),
        unread_count=bindparam("unread_count"),
        marked_unread=False,
    )
)
_DELIVERED = Prepared(
    update(participants)
    .where(
        participants.c.conversation_id == bindparam("conversation"),
        participants.c.member_id == bindparam("member"),
        participants.c.delivered_up_to < bindparam("message_id"),
    )
    .values(delivered_up_to=bindparam("message_id"))
)


async def list_participants(conn: AsyncConnection, *, conversation_id: int) -> list[ParticipantRow]:
    return [ParticipantRow(*r) for r in await _PARTICIPANTS.rows(conn, conversation_id=conversation_id)]


async def record_read(
    conn: AsyncConnection, *, conversation_id: int, member_id: int, read_up_to: int, delivered_up_to: int, unread: int
) -> None:
    """The member's open thread showed messages up to `read_up_to`."""
    await _READ.execute(
        conn,
        conversation=conversation_id,
        member=member_id,
        read_up_to=read_up_to,
        delivered_up_to=delivered_up_to,
        unread_count=unread,
    )


_PARTICIPANTS_OF = Prepared(
    select(participants.c.conversation_id, participants.c.member_id)
    .where(in_ids(participants.c.conversation_id, "ids"))
    .order_by(participants.c.conversation_id, participants.c.member_id)
)


async def participant_ids_for(
    conn: AsyncConnection, *, conversation_ids: Iterable[int]
) -> dict[ConversationId, list[MemberId]]:
    ids = set(conversation_ids)
    out: dict[ConversationId, list[MemberId]] = {ConversationId(c): [] for c in ids}
    if not ids:
        return out
    for cid, mid in await _PARTICIPANTS_OF.rows(conn, ids=ids):
        out[ConversationId(cid)].append(MemberId(mid))
    return out


async def participant_ids(conn: AsyncConnection, *, conversation_id: int) -> list[MemberId]:
    """One conversation's members, in id order (a send asks this)."""
    return [MemberId(r[0]) for r in await _PARTICIPANT_IDS.rows(conn, conversation_id=conversation_id)]


async def participants_blocking(
    conn: AsyncConnection, *, conversation_id: int, member_id: int
) -> list[tuple[MemberId, bool]]:
    """One conversation's members in id order, each with whether a block stands between them
    and `member_id` (either way): what a send checks, in one statement."""
    rows = await _PARTICIPANTS_BLOCKING.rows(conn, conversation_id=conversation_id, member=member_id)
    return [(MemberId(m), bool(b)) for m, b in rows]


@dataclass(frozen=True, slots=True)
class TypingView:
    """What deciding who sees a member typing needs of a conversation (domain.audience)."""

    kind: ConversationKind
    switches: dict[MemberId, bool]  # every participant's receipts-and-typing switch
    blocked: frozenset[MemberId]  # participants with a block either way with the typist


async def typing_view(db: Database, *, conversation_id: int, member_id: int) -> TypingView | None:
    """The conversation as `member_id`'s typing sees it; None if it does not exist. One
    statement, read outside a transaction (`Database.fetch`): typing frames come several a
    second while members write, and a read transaction of four statements cost more than
    relaying the frame."""
    rows = await db.fetch(_TYPING_VIEW, conversation_id=conversation_id, member=member_id)
    if not rows:
        return None
    return TypingView(
        kind=ConversationKind(rows[0][0]),
        switches={MemberId(m): bool(switch) for _, m, switch, _ in rows},
        blocked=frozenset(MemberId(m) for _, m, _, block in rows if block),
    )


async def get_participant(conn: AsyncConnection, *, conversation_id: int, member_id: int) -> ParticipantRow | None:
    row = (
        await conn.execute(
            select(*_PARTICIPANT).where(
                participants.c.conversation_id == conversation_id,
                participants.c.member_id == member_id,
            )
        )
    ).first()
    return _participant(row._mapping) if row else None


async def record_message(
    conn: AsyncConnection,
    *,
    conversation_id: int,
    message_id: int,
    sender_id: int,
    at: datetime,
) -> None:
    """Move the thread to the top of every inbox (out of the recipients' archives), count it unread for others."""
    await _TOUCH.execute(conn, conversation_id=conversation_id, message_id=message_id, at=at)
    await _COUNT_MESSAGE.execute(conn, conversation=conversation_id, message_id=message_id, sender_id=sender_id, at=at)


async def save_participant(
    conn: AsyncConnection, *, conversation_id: int, member_id: int, fields: Mapping[str, Any]
) -> None:
    if not fields:
        return
    await conn.execute(
        update(participants)
        .where(
            participants.c.conversation_id == conversation_id,
            participants.c.member_id == member_id,
        )
        .values(**fields)
    )


async def hide_for(conn: AsyncConnection, *, conversation_id: int, member_id: int, through: int) -> None:
    """Take a conversation out of one member's view, history up to message `through` included
    (delete-for-me, and a report): it comes back, empty of that history, with the next message."""
    await save_participant(
        conn,
        conversation_id=conversation_id,
        member_id=member_id,
        fields={
            "hidden": True,
            "cleared_through": through,
            "read_up_to": through,
            "unread_count": 0,
            "marked_unread": False,
        },
    )


async def advance_delivered(
    conn: AsyncConnection, *, member_id: int, up_to: Mapping[int, int]
) -> dict[ConversationId, int]:
    """Raise the member's delivered marks; returns the conversations where one moved."""
    moved: dict[ConversationId, int] = {}
    for conversation_id, message_id in sorted(up_to.items()):
        if await _DELIVERED.execute(conn, conversation=conversation_id, member=member_id, message_id=message_id):
            moved[ConversationId(conversation_id)] = message_id
    return moved


async def save_inmail_state(conn: AsyncConnection, *, conversation_id: int, state: InMailState, at: datetime) -> None:
    await conn.execute(
        update(conversations)
        .where(conversations.c.id == conversation_id)
        .values(inmail_state=state.value, inmail_answered_at=at)
    )


async def has_unanswered_inmail(conn: AsyncConnection, *, sender_id: int, recipient_id: int) -> bool:
    return (
        await conn.scalar(
            select(1)
            .where(
                conversations.c.inmail_sender_id == sender_id,
                conversations.c.inmail_recipient_id == recipient_id,
                conversations.c.inmail_state == InMailState.PENDING.value,
            )
            .limit(1)
        )
    ) is not None


async def count_started(conn: AsyncConnection, *, created_by: int, kind: ConversationKind, since: datetime) -> int:
    """Conversations of `kind` that `created_by` started since `since` (the monthly cap)."""
    value = await conn.scalar(
        select(func.count()).where(
            conversations.c.created_by == created_by,
            conversations.c.kind == kind.value,
            conversations.c.created_at >= since,
        )
    )
    return int(value or 0)


async def add_participants(
    conn: AsyncConnection, *, conversation_id: int, member_ids: Sequence[int], at: datetime, read_up_to: int
) -> None:
    """Newcomers see the whole history, with what was there before they came already read."""
    await conn.execute(
        insert(participants),
        [
            {
                "conversation_id": conversation_id,
                "member_id": m,
                "joined_at": at,
                "last_activity_at": at,
                "read_up_to": read_up_to,
                "delivered_up_to": read_up_to,
            }
            for m in member_ids
        ],
    )


async def remove_participant(conn: AsyncConnection, *, conversation_id: int, member_id: int) -> bool:
    """The member loses the conversation: its history, events and search results with it."""
    result = await conn.execute(
        delete(participants).where(
            participants.c.conversation_id == conversation_id, participants.c.member_id == member_id
        )
    )
    return bool(result.rowcount)


async def save_title(conn: AsyncConnection, *, conversation_id: int, title: str | None) -> None:
    await conn.execute(update(conversations).where(conversations.c.id == conversation_id).values(title=title))


async def unread_total(conn: AsyncConnection, *, member_id: int) -> int:
    """Conversations with something unread: the inbox badge."""
    value = await conn.scalar(
        select(func.count()).where(
            participants.c.member_id == member_id,
            participants.c.hidden.is_(False),
            participants.c.archived.is_(False),
            or_(participants.c.unread_count > 0, participants.c.marked_unread.is_(True)),
        )
    )
    return int(value or 0)
