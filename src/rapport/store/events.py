"""The per-member event log.

Each member has a counter row. Appending events for a member increments that row in the
writing transaction and takes the new numbers, so sequence numbers are strictly
increasing and gap-free under any number of concurrent writers in any number of
processes: on PostgreSQL the UPDATE takes the row's lock until commit (a second writer
waits, then sees the committed value); on SQLite there is one writer at a time. A sequence
or MAX(seq)+1 would not do: sequences leave gaps on rollback, and MAX+1 races. Counter rows
are updated in member-id order so two transactions never wait on each other in a cycle.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from rapport.domain.model import MemberId
from rapport.store.prepared import Prepared
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
    frame: bytes
    """The event's JSON object with its `seq`: what goes on the wire."""


def frame(seq: int | None, body: bytes) -> bytes:
    """Splice `seq` into an encoded event object (`body` starts with `{`)."""
    head = b'{"seq":null,' if seq is None else b'{"seq":%d,' % seq
    return head + body[1:] if len(body) > 2 else head[:-1] + b"}"


async def create_counter(conn: AsyncConnection, *, member_id: MemberId) -> None:
    await conn.execute(insert(event_counters).values(member_id=member_id, last_seq=0))


_TAKE = Prepared(
    update(event_counters)
    .where(event_counters.c.member_id == bindparam("member"))
    .values(last_seq=event_counters.c.last_seq + bindparam("count"))
    .returning(event_counters.c.last_seq)
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


async def append(conn: AsyncConnection, pending: Sequence[PendingEvent]) -> list[StoredEvent]:
    """Number and store `pending` in the current transaction; returns them in order."""
    by_member: dict[MemberId, list[PendingEvent]] = defaultdict(list)
    for item in pending:
        by_member[item.member_id].append(item)
    stored: list[StoredEvent] = []
    rows: list[dict[str, object]] = []
    for member_id in sorted(by_member):
        items = by_member[member_id]
        last = await _TAKE.scalar(conn, member=member_id, count=len(items))
        if last is None:
            raise LookupError(f"member {member_id} has no event counter")
        first = last - len(items) + 1
        for offset, item in enumerate(items):
            seq = first + offset
            rows.append(
                {
                    "member_id": member_id,
                    "seq": seq,
                    "type": item.type,
                    "body": item.body.decode(),
                    "created_at": item.at,
                }
            )
            stored.append(StoredEvent(member_id, seq, frame(seq, item.body)))
    if rows:
        await _STORE.many(conn, rows)
    return stored


async def list_since(
    conn: AsyncConnection, *, member_id: MemberId, since: int, limit: int
) -> list[tuple[int, str, bytes]]:
    """Stored events after `since`, oldest first, as (seq, type, frame)."""
    result = await conn.execute(
        select(events.c.seq, events.c.type, events.c.body)
        .where(events.c.member_id == member_id, events.c.seq > since)
        .order_by(events.c.seq)
        .limit(limit)
    )
    return [(seq, type_, frame(seq, body.encode())) for seq, type_, body in result]


async def last_seq(conn: AsyncConnection, *, member_id: MemberId) -> int:
    value = await conn.scalar(select(event_counters.c.last_seq).where(event_counters.c.member_id == member_id))
    return int(value or 0)
