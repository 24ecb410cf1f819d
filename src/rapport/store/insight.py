"""What engagement insight reads: a member's sent messages with their first reply, the reads
in their 1:1 threads, the history of receipt switches, and unanswered threads.

The counting is in SQL where it does not decide privacy: the first reply after each
message is a window over the member's conversations (one pass, no query per message),
the unanswered run of a thread is counted in the database. Which reads count is a privacy
rule, so it stays a pure function in domain/insight.py; this module only hands it rows.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import ColumnElement, and_, case, delete, func, insert, or_, select, type_coerce
from sqlalchemy.ext.asyncio import AsyncConnection

from rapport.domain.insight import Read, SentMessage, UnansweredThread
from rapport.domain.model import ConversationId, ConversationKind, InMailState, MemberId, MessageId
from rapport.domain.receipts import RECEIPT_KINDS
from rapport.store.tables import (
    conversations,
    follow_up_dismissals,
    messages,
    participants,
    read_receipts,
    receipt_switch_changes,
)
from rapport.store.types import UTCDateTime

# Kinds with one other member to follow up with: no group chats or multi, no sponsored.
FOLLOW_UP_KINDS = (*sorted(RECEIPT_KINDS), ConversationKind.INMAIL)


def _written_by_someone_else(member_id: int) -> ColumnElement[bool]:
    return or_(messages.c.sender_id != member_id, messages.c.sender_id.is_(None))


async def sent_messages(conn: AsyncConnection, *, member_id: int) -> list[SentMessage]:
    """Every message the member sent, with the time of the first later message by someone else,
    and the other member of each 1:1 thread that has receipts."""
    mine = select(messages.c.conversation_id).where(messages.c.sender_id == member_id).distinct()
    by_others = func.min(case((_written_by_someone_else(member_id), messages.c.created_at), else_=None))
    # Newest first, so "every later message" is the running frame before each row.
    later = by_others.over(partition_by=messages.c.conversation_id, order_by=messages.c.id.desc(), rows=(None, -1))
    walk = (
        select(
            messages.c.id,
            messages.c.conversation_id,
            messages.c.sender_id,
            messages.c.created_at,
            type_coerce(later, UTCDateTime).label("replied_at"),
        )
        .where(messages.c.conversation_id.in_(mine))
        .subquery()
    )
    rows = (
        await conn.execute(
            select(walk.c.id, walk.c.conversation_id, conversations.c.kind, walk.c.created_at, walk.c.replied_at)
            .select_from(walk.join(conversations, conversations.c.id == walk.c.conversation_id))
            .where(walk.c.sender_id == member_id)
        )
    ).all()
    readers = await conn.execute(
        select(participants.c.conversation_id, participants.c.member_id)
        .select_from(participants.join(conversations, conversations.c.id == participants.c.conversation_id))
        .where(
            participants.c.conversation_id.in_(mine),
            participants.c.member_id != member_id,
            conversations.c.kind.in_([k.value for k in RECEIPT_KINDS]),
        )
    )
    reader_of = {cid: MemberId(who) for cid, who in readers}
    return [
        SentMessage(
            conversation_id=ConversationId(cid),
            message_id=MessageId(mid),
            kind=ConversationKind(kind),
            sent_at=sent_at,
            reader=reader_of.get(cid),
            replied_at=replied_at,
        )
        for mid, cid, kind, sent_at, replied_at in rows
    ]


async def reads_by_others(conn: AsyncConnection, *, member_id: int) -> list[Read]:
    """Reads recorded by the other members of the member's 1:1 threads (filtered by the domain)."""
    mine = select(participants.c.conversation_id).where(participants.c.member_id == member_id)
    rows = await conn.execute(
        select(
            read_receipts.c.conversation_id,
            read_receipts.c.reader_id,
            read_receipts.c.message_id,
            read_receipts.c.read_at,
            read_receipts.c.shared,
        )
        .select_from(read_receipts.join(conversations, conversations.c.id == read_receipts.c.conversation_id))
        .where(
            read_receipts.c.conversation_id.in_(mine),
            read_receipts.c.reader_id != member_id,
            conversations.c.kind.in_([k.value for k in RECEIPT_KINDS]),
        )
    )
    return [
        Read(ConversationId(cid), MemberId(reader), MessageId(mid), read_at, bool(shared))
        for cid, reader, mid, read_at, shared in rows
    ]


async def count_started(conn: AsyncConnection, *, member_id: int) -> int:
    """Conversations the member started, of every kind."""
    found = await conn.scalar(select(func.count()).where(conversations.c.created_by == member_id))
    return int(found or 0)


async def add_switch_change(conn: AsyncConnection, *, member_id: int | None, enabled: bool, at: datetime) -> None:
    """Record that a receipt switch changed; `member_id` None is the operator's switch."""
    await conn.execute(insert(receipt_switch_changes).values(member_id=member_id, enabled=enabled, changed_at=at))


async def switch_changes(
    conn: AsyncConnection, *, member_ids: Iterable[int]
) -> dict[MemberId | None, list[tuple[datetime, bool]]]:
    """The changes of these members' switches and the operator's (key None), oldest first."""
    ids = set(member_ids)
    c = receipt_switch_changes.c
    rows = await conn.execute(
        select(c.member_id, c.changed_at, c.enabled)
        .where(or_(c.member_id.is_(None), c.member_id.in_(ids)))
        .order_by(c.changed_at, c.id)
    )
    out: dict[MemberId | None, list[tuple[datetime, bool]]] = {}
    for who, at, enabled in rows:
        out.setdefault(MemberId(who) if who is not None else None, []).append((at, bool(enabled)))
    return out


async def unanswered_threads(conn: AsyncConnection, *, member_id: int) -> list[UnansweredThread]:
    """The member's visible 1:1 and InMail threads whose last message is theirs, with the run
    of their messages since anyone else last wrote, and when they last dismissed it."""
    last = messages.alias("last_message")
    run = messages.alias("run")
    theirs = messages.alias("theirs")
    other = participants.alias("other")
    last_reply = (
        select(func.coalesce(func.max(theirs.c.id), 0))
        .where(
            theirs.c.conversation_id == conversations.c.id,
            or_(theirs.c.sender_id != member_id, theirs.c.sender_id.is_(None)),
        )
        .scalar_subquery()
    )
    unanswered = (
        select(func.count())
        .select_from(run)
        .where(run.c.conversation_id == conversations.c.id, run.c.id > last_reply)
        .scalar_subquery()
    )
    rows = await conn.execute(
        select(
            conversations.c.id,
            other.c.member_id,
            last.c.created_at,
            unanswered,
            follow_up_dismissals.c.dismissed_at,
        )
        .select_from(
            participants.join(conversations, conversations.c.id == participants.c.conversation_id)
            .join(last, last.c.id == conversations.c.last_message_id)
            .join(other, and_(other.c.conversation_id == conversations.c.id, other.c.member_id != member_id))
            .outerjoin(
                follow_up_dismissals,
                and_(
                    follow_up_dismissals.c.member_id == member_id,
                    follow_up_dismissals.c.conversation_id == conversations.c.id,
                ),
            )
        )
        .where(
            participants.c.member_id == member_id,
            participants.c.hidden.is_(False),
            last.c.sender_id == member_id,
            conversations.c.kind.in_([k.value for k in FOLLOW_UP_KINDS]),
            # "Not interested" is an answer: no follow-up to a declined InMail.
            or_(conversations.c.inmail_state.is_(None), conversations.c.inmail_state != InMailState.DECLINED.value),
        )
    )
    return [
        UnansweredThread(ConversationId(cid), MemberId(who), last_sent_at, int(count), dismissed_at)
        for cid, who, last_sent_at, count, dismissed_at in rows
    ]


async def dismiss_follow_up(conn: AsyncConnection, *, member_id: int, conversation_id: int, at: datetime) -> None:
    """Hide a follow-up suggestion until the conversation's next message."""
    where = (follow_up_dismissals.c.member_id == member_id, follow_up_dismissals.c.conversation_id == conversation_id)
    await conn.execute(delete(follow_up_dismissals).where(*where))
    await conn.execute(
        insert(follow_up_dismissals).values(member_id=member_id, conversation_id=conversation_id, dismissed_at=at)
    )
