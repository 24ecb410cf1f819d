"""The per-member event log.

Each member has a counter row. Appending events for a member increments that row in the
writing transaction and takes the new numbers, so sequence numbers are strictly
increasing and gap-free under any number of concurrent writers in any number of
processes: on PostgreSQL the UPDATE takes the row's lock until commit (a second writer
waits, then sees the committed value); on SQLite there is one writer at a time. A sequence
or MAX(seq)+1 would not do: sequences leave gaps on rollback, and MAX+1 races. Counter rows
are locked in member-id order so two transactions never wait on each other in a cycle.

A message to a group chat numbers an event for each of its 51 participants. One UPDATE
takes all their numbers (members taking the same count share it), instead of one
statement per member: the statement, not the row, is what costs on SQLite.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Integer, bindparam, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from rapport.domain.events import frame
from rapport.domain.model import MemberId
from rapport.store.prepared import Prepared, in_ids
from rapport.store.tables import event_counters, events


@dataclass(frozen=True, slots=True)
class PendingEvent:
    member_id: MemberId
    type: str
    body: bytes
    """The event's JSON object without `seq`."""
    at: datetime


@dataclass(frozen=True, slots=True)
class StoredEvent:
    member_id: MemberId
    seq: int
    body: bytes
    """The event's JSON object without `seq`, shared by every member it went to."""

    @property
    def frame(self) -> bytes:
        """The event's JSON object with its `seq`: what goes on the wire."""
        return frame(self.seq, self.body)


async def create_counter(conn: AsyncConnection, *, member_id: MemberId) -> None:
    await conn.execute(insert(event_counters).values(member_id=member_id, last_seq=0))


_LOCKED = (
    select(event_counters.c.member_id)
    .where(in_ids(event_counters.c.member_id, "members"))
    .order_by(event_counters.c.member_id)
    .with_for_update()  # PostgreSQL locks in member order; SQLite has one writer and no FOR UPDATE
)
_LOCK = Prepared(_LOCKED)
_TAKE = Prepared(
    update(event_counters)
    .where(event_counters.c.member_id.in_(_LOCKED.scalar_subquery()))
    .values(last_seq=event_counters.c.last_seq + bindparam("count"))
    .returning(event_counters.c.member_id, event_counters.c.last_seq)
)
_STORE = Prepared(
    insert(events).values(
        member_id=bindparam("member_id"),
        seq=bindparam("seq"),
        type=bindparam("type"),
        body=bindparam("body"),
        created_at=bindparam("created_at"),
    )
)


async def _take(conn: AsyncConnection, counts: dict[MemberId, int]) -> dict[MemberId, int]:
    """Advance each member's counter by its count; returns each one's new last seq.

    Members sharing a count (usually all: one event each) move in one statement. With
    several counts, all rows are locked first, in order, so no two writers lock in a cycle.
    """
    by_count: dict[int, list[MemberId]] = defaultdict(list)
    for member_id, count in counts.items():
        by_count[count].append(member_id)
    if len(by_count) > 1:
        await _LOCK.rows(conn, members=sorted(counts))
    last: dict[MemberId, int] = {}
    for count, ids in by_count.items():
        for member_id, seq in await _TAKE.rows(conn, members=ids, count=count):
            last[MemberId(member_id)] = seq
    missing = counts.keys() - last.keys()
    if missing:
        raise LookupError(f"members {sorted(missing)} have no event counter")
    return last


async def append(conn: AsyncConnection, pending: Sequence[PendingEvent]) -> list[StoredEvent]:
    """Number and store `pending` in the current transaction; returns them in order."""
    if not pending:
        return []
    counts: dict[MemberId, int] = defaultdict(int)
    for item in pending:
        counts[item.member_id] += 1
    last = await _take(conn, counts)
    # Each member's events take its numbers in the order given.
    next_seq = {member_id: seq - counts[member_id] + 1 for member_id, seq in last.items()}
    texts: dict[int, str] = {}  # a body shared by many members is decoded once
    stored: list[StoredEvent] = []
    rows: list[dict[str, object]] = []
    for item in pending:
        seq = next_seq[item.member_id]
        next_seq[item.member_id] = seq + 1
        text = texts.get(id(item.body))
        if text is None:
            text = texts[id(item.body)] = item.body.decode()
        rows.append({"member_id": item.member_id, "seq": seq, "type": item.type, "body": text, "created_at": item.at})
        stored.append(StoredEvent(item.member_id, seq, item.body))
    await _STORE.many(conn, rows)
    return stored


_SINCE = Prepared(
    select(events.c.seq, events.c.type, events.c.body)
    .where(events.c.member_id == bindparam("member_id"), events.c.seq > bindparam("since"))
    .order_by(events.c.seq)
    .limit(bindparam("limit", type_=Integer()))
)
_LAST_SEQ = Prepared(select(event_counters.c.last_seq).where(event_counters.c.member_id == bindparam("member_id")))


async def list_since(
    conn: AsyncConnection, *, member_id: MemberId, since: int, limit: int
) -> list[tuple[int, str, bytes]]:
    """Stored events after `since`, oldest first, as (seq, type, frame). Every socket that
    connects or resumes reads here (and `last_seq`): prepared, not built per call."""
    rows = await _SINCE.rows(conn, member_id=member_id, since=since, limit=limit)
    return [(seq, type_, frame(seq, body.encode())) for seq, type_, body in rows]


async def last_seq(conn: AsyncConnection, *, member_id: MemberId) -> int:
    value = await _LAST_SEQ.scalar(conn, member_id=member_id)
    return int(value or 0)
