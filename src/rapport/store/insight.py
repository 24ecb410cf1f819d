"""What engagement insight reads: a member's sent messages with their first reply, the reads
in their 1:1 threads, the history of receipt switches, and unanswered threads.

The counting is in SQL where it does not decide privacy: the first reply after each
message is found by the database (one index step from the message), the unanswered run
of a thread is counted there, and times come back as numbers, not datetimes. Which reads count is a privacy
rule, so it stays a pure function in domain/insight.py; this module only hands it rows.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import cast

from sqlalchemy import ColumnElement, Integer, and_, bindparam, delete, func, insert, or_, select, type_coerce
from sqlalchemy.ext.asyncio import AsyncConnection

from rapport.domain.insight import Read, SentMessage, Thread, UnansweredThread
from rapport.domain.model import ConversationId, ConversationKind, InMailState, MemberId
from rapport.domain.receipts import RECEIPT_KINDS
from rapport.store.dialect import epoch_seconds
from rapport.store.prepared import Prepared
from rapport.store.tables import (
    conversations,
    follow_up_dismissals,
    messages,
    participants,
    read_receipts,
    receipt_switch_changes,
)

# Kinds with one other member to follow up with: no group chats or multi, no sponsored.
FOLLOW_UP_KINDS = (*sorted(RECEIPT_KINDS), ConversationKind.INMAIL)


def _written_by_someone_else(column: ColumnElement[int | None]) -> ColumnElement[bool]:
    return or_(column != bindparam("member_id"), column.is_(None))


def _has_receipts(kind: ColumnElement[str]) -> ColumnElement[bool]:
    # Equalities, not IN: a prepared statement's SQL must not change with a list.
    return or_(*(kind == k.value for k in sorted(RECEIPT_KINDS)))


_later = messages.alias("later")
_SENT = Prepared(
    select(
        messages.c.conversation_id,
        messages.c.id,
        epoch_seconds(messages.c.created_at),
        select(epoch_seconds(_later.c.created_at))
        .where(
            _later.c.conversation_id == messages.c.conversation_id,
            _later.c.id > messages.c.id,
            _written_by_someone_else(_later.c.sender_id),
        )
        .order_by(_later.c.id)
        .limit(1)
        .scalar_subquery(),
    ).where(messages.c.sender_id == bindparam("member_id"))
)


async def sent_messages(conn: AsyncConnection, *, member_id: int) -> list[SentMessage]:
    """Every message the member sent, with the time of the first later message by someone else.

    Prepared, and the driver's rows as they come: this returns every message a member ever
    sent, so any per-row work shows."""
    return cast(list[SentMessage], await _SENT.rows(conn, member_id=member_id))


_mine = participants.alias("mine")
_other = participants.alias("other")
_THREADS = Prepared(
    select(conversations.c.id, conversations.c.kind, _other.c.member_id)
    .select_from(
        _mine.join(conversations, conversations.c.id == _mine.c.conversation_id).outerjoin(
            _other,
            and_(
                _other.c.conversation_id == conversations.c.id,
                _other.c.member_id != bindparam("member_id"),
                _has_receipts(conversations.c.kind),
            ),
        )
    )
    .where(_mine.c.member_id == bindparam("member_id"))
)


async def threads(conn: AsyncConnection, *, member_id: int) -> dict[ConversationId, Thread]:
    """The member's conversations: kind, and the other member where the kind has receipts."""
    return {
        ConversationId(cid): Thread(ConversationKind(kind), MemberId(reader) if reader is not None else None)
        for cid, kind, reader in await _THREADS.rows(conn, member_id=member_id)
    }


_READS = Prepared(
    select(
        read_receipts.c.conversation_id,
        read_receipts.c.reader_id,
        read_receipts.c.message_id,
        epoch_seconds(read_receipts.c.read_at),
        # As stored (1/0 on SQLite): a Boolean column would rebuild every row to convert it.
        type_coerce(read_receipts.c.shared, Integer),
    ).where(
        # The kind is checked once per conversation, not once per read.
        read_receipts.c.conversation_id.in_(
            select(participants.c.conversation_id)
            .join(conversations, conversations.c.id == participants.c.conversation_id)
            .where(participants.c.member_id == bindparam("member_id"), _has_receipts(conversations.c.kind))
        ),
        read_receipts.c.reader_id != bindparam("member_id"),
    )
)


async def reads_by_others(conn: AsyncConnection, *, member_id: int) -> list[Read]:
    """Reads recorded by the other members of the member's 1:1 threads (filtered by the domain)."""
    return cast(list[Read], await _READS.rows(conn, member_id=member_id))


async def count_started(conn: AsyncConnection, *, member_id: int) -> int:
    """Conversations the member started, of every kind."""
    found = await conn.scalar(select(func.count()).where(conversations.c.created_by == member_id))
    return int(found or 0)


async def add_switch_change(conn: AsyncConnection, *, member_id: int | None, enabled: bool, at: datetime) -> None:
    """Record that a receipt switch changed; `member_id` None is the operator's switch."""
    await conn.execute(insert(receipt_switch_changes).values(member_id=member_id, enabled=enabled, changed_at=at))


async def switch_changes(
    conn: AsyncConnection, *, member_ids: Iterable[int]
) -> dict[MemberId | None, list[tuple[float, bool]]]:
    """The changes of these members' switches and the operator's (key None), oldest first,
    in POSIX seconds."""
    ids = set(member_ids)
    c = receipt_switch_changes.c
    rows = await conn.execute(
        select(c.member_id, epoch_seconds(c.changed_at), c.enabled)
        .where(or_(c.member_id.is_(None), c.member_id.in_(ids)))
        .order_by(c.changed_at, c.id)
    )
    out: dict[MemberId | None, list[tuple[float, bool]]] = {}
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
