"""The event log contract, on SQLite and PostgreSQL.

Each member's events are numbered 1, 2, 3, ... with no gap and no duplicate, whatever the
number of concurrent writers (in one process or several), and a rolled-back transaction
takes no number with it.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator
from pathlib import Path

import orjson
import pytest

from rapport.bus.memory import MemoryBus
from rapport.clock import FakeClock
from rapport.domain.events import EventType
from rapport.domain.model import MemberId
from rapport.services.context import Context, NetworkSwitches
from rapport.services.uow import UnitOfWork
from rapport.settings import Settings
from rapport.store import events as event_log
from rapport.store import members
from rapport.store.dialect import Database

WRITERS = 50


class Boom(Exception):
    """A failure inside a write transaction."""


def context(db: Database, tmp_path: Path) -> Context:
    return Context(
        settings=Settings(data_dir=tmp_path, database_url=str(db.url)),
        db=db,
        bus=MemoryBus(),
        clock=FakeClock(),
        network=NetworkSwitches(receipts_default=True),
    )


@pytest.fixture
def ctx(db: Database, tmp_path: Path) -> Context:
    return context(db, tmp_path)


async def add_member(db: Database, handle: str) -> MemberId:
    async with db.write() as conn:
        return await members.add(
            conn,
            handle=handle,
            email=f"{handle}@example.com",
            password_hash="x",
            name=handle.title(),
            at=FakeClock().now(),
        )


def pending(member_id: MemberId, n: int = 0) -> event_log.PendingEvent:
    body = orjson.dumps({"type": "notification.new", "n": n})
    return event_log.PendingEvent(member_id, "notification.new", body, FakeClock().now())


async def stored_seqs(db: Database, member_id: MemberId) -> list[int]:
    async with db.read() as conn:
        rows = await event_log.list_since(conn, member_id=member_id, since=0, limit=100_000)
    for seq, _type, frame in rows:
        assert orjson.loads(frame)["seq"] == seq
    return [seq for seq, _type, _frame in rows]


async def last_seq(db: Database, member_id: MemberId) -> int:
    async with db.read() as conn:
        return await event_log.last_seq(conn, member_id=member_id)


async def test_a_member_starts_at_zero(db: Database) -> None:
    alice = await add_member(db, "alice")
    assert await last_seq(db, alice) == 0
    assert await stored_seqs(db, alice) == []


async def test_appended_events_get_strictly_increasing_gap_free_seq(db: Database) -> None:
    alice, bob = await add_member(db, "alice"), await add_member(db, "bob")
    async with db.write() as conn:
        first = await event_log.append(conn, [pending(alice, 1), pending(alice, 2), pending(alice, 3)])
    async with db.write() as conn:
        second = await event_log.append(conn, [pending(alice, 4)])
    async with db.write() as conn:
        # Interleaved members in one transaction: each member numbered on its own.
        third = await event_log.append(conn, [pending(bob, 1), pending(alice, 5), pending(bob, 2), pending(alice, 6)])
    async with db.write() as conn:
        assert await event_log.append(conn, []) == []

    assert [e.seq for e in first] == [1, 2, 3]
    assert [e.seq for e in second] == [4]
    assert [(e.member_id, e.seq) for e in third if e.member_id == alice] == [(alice, 5), (alice, 6)]
    assert [(e.member_id, e.seq) for e in third if e.member_id == bob] == [(bob, 1), (bob, 2)]
    for event in (*first, *second, *third):
        assert orjson.loads(event.frame)["seq"] == event.seq
    # Each member's events keep their order within the transaction.
    assert [orjson.loads(e.frame)["n"] for e in third if e.member_id == alice] == [5, 6]

    assert await stored_seqs(db, alice) == [1, 2, 3, 4, 5, 6]
    assert await stored_seqs(db, bob) == [1, 2]
    assert await last_seq(db, alice) == 6
    assert await last_seq(db, bob) == 2
    async with db.read() as conn:
        tail = await event_log.list_since(conn, member_id=alice, since=4, limit=1)
    assert [seq for seq, _type, _frame in tail] == [5]


@pytest.fixture(params=[1, 2], ids=["one-database", "two-databases"])
async def contexts(request: pytest.FixtureRequest, db: Database, tmp_path: Path) -> AsyncIterator[list[Context]]:
    """Writers sharing one Database, or spread over two (two processes' worth of pools).

    SQLite is meant for one process, but two writers on one file must still be correct:
    BEGIN IMMEDIATE and the busy timeout queue them."""
    others = [Database(str(db.url.render_as_string(hide_password=False))) for _ in range(request.param - 1)]
    try:
        yield [context(d, tmp_path) for d in (db, *others)]
    finally:
        for other in others:
            await other.dispose()


async def test_concurrent_writers_get_exactly_one_to_n(contexts: list[Context]) -> None:
    db = contexts[0].db
    alice, bob = await add_member(db, "alice"), await add_member(db, "bob")
    received: list[bytes] = []

    async def writer(i: int) -> list[int]:
        ctx = contexts[i % len(contexts)]
        async with UnitOfWork(ctx) as uow:
            # Some writers take several numbers at once, and some touch two members.
            for n in range(1 + i % 3):
                uow.emit(EventType.NOTIFICATION_NEW, [alice], {"writer": i, "n": n})
            if i % 4 == 0:
                uow.emit(EventType.NOTIFICATION_NEW, [bob], {"writer": i})
            await asyncio.sleep(random.random() / 100)
        return [e.seq for e in uow.published if e.member_id == alice]

    async with contexts[0].bus.subscribe(alice) as sub:
        results = await asyncio.gather(*(writer(i) for i in range(WRITERS)))
        while (frame := sub.get_nowait()) is not None:
            received.append(frame)

    expected = sum(1 + i % 3 for i in range(WRITERS))
    taken = sorted(seq for seqs in results for seq in seqs)
    assert taken == list(range(1, expected + 1))
    # A writer's own events are consecutive: nobody else's number lands in between.
    for seqs in results:
        assert seqs == list(range(seqs[0], seqs[0] + len(seqs)))
    assert await stored_seqs(db, alice) == list(range(1, expected + 1))
    assert await last_seq(db, alice) == expected
    bob_count = len(range(0, WRITERS, 4))
    assert await stored_seqs(db, bob) == list(range(1, bob_count + 1))
    if len(contexts) == 1:
        # In number order, though writers commit in groups and wake in another order: a
        # socket given N+1 before N would have to read the log to fill the gap.
        assert [orjson.loads(f)["seq"] for f in received] == list(range(1, expected + 1))


async def test_a_rolled_back_unit_of_work_leaves_no_gap(ctx: Context) -> None:
    alice = await add_member(ctx.db, "alice")
    async with UnitOfWork(ctx) as uow:
        uow.emit(EventType.NOTIFICATION_NEW, [alice], {"n": 1})
    with pytest.raises(Boom):
        async with UnitOfWork(ctx) as uow:
            uow.emit(EventType.NOTIFICATION_NEW, [alice], {"n": 2})
            raise Boom
    async with UnitOfWork(ctx) as uow:
        uow.emit(EventType.NOTIFICATION_NEW, [alice], {"n": 3})
    assert [e.seq for e in uow.published] == [2]
    assert await stored_seqs(ctx.db, alice) == [1, 2]


async def test_a_transaction_rolled_back_after_appending_leaves_no_gap(db: Database) -> None:
    alice = await add_member(db, "alice")
    async with db.write() as conn:
        await event_log.append(conn, [pending(alice)])
    with pytest.raises(Boom):
        async with db.write() as conn:
            taken = await event_log.append(conn, [pending(alice), pending(alice)])
            assert [e.seq for e in taken] == [2, 3]
            raise Boom
    assert await last_seq(db, alice) == 1
    async with db.write() as conn:
        again = await event_log.append(conn, [pending(alice)])
    assert [e.seq for e in again] == [2]
    assert await stored_seqs(db, alice) == [1, 2]


async def test_concurrent_rollbacks_leave_no_gap(contexts: list[Context]) -> None:
    db = contexts[0].db
    alice = await add_member(db, "alice")

    async def writer(i: int) -> list[int]:
        database = contexts[i % len(contexts)].db
        async with database.write() as conn:
            stored = await event_log.append(conn, [pending(alice, i)])
            await asyncio.sleep(random.random() / 100)
            if i % 3 == 0:
                raise Boom  # took a number while holding the counter, then gave it back
        return [e.seq for e in stored]

    results = await asyncio.gather(*(writer(i) for i in range(WRITERS)), return_exceptions=True)
    committed = [r for r in results if isinstance(r, list)]
    assert all(isinstance(r, Boom) for r in results if not isinstance(r, list))
    assert len(committed) == WRITERS - len(range(0, WRITERS, 3))
    assert sorted(seq for seqs in committed for seq in seqs) == list(range(1, len(committed) + 1))
    assert await stored_seqs(db, alice) == list(range(1, len(committed) + 1))
    assert await last_seq(db, alice) == len(committed)


MANY = 8
"""Members in one append, as a campaign's page or a group chat's message makes."""


async def test_many_members_at_once_are_numbered_as_one_by_one(contexts: list[Context]) -> None:
    """A campaign's page appends for many members in one go (their counters move together):
    numbers stay gap-free and consecutive per writer, with writers overlapping in any order."""
    db = contexts[0].db
    people = [await add_member(db, f"m{i:02d}") for i in range(MANY + 4)]
    rng = random.Random(16)
    plans = []
    for _ in range(12):
        chosen = rng.sample(people, rng.randint(MANY, len(people)))
        plans.append([(m, 1 + rng.randrange(2)) for m in chosen])  # one or two events each

    async def writer(i: int) -> list[event_log.StoredEvent]:
        async with contexts[i % len(contexts)].db.write() as conn:
            taken = await event_log.append(conn, [pending(m, n) for m, count in plans[i] for n in range(count)])
            await asyncio.sleep(random.random() / 100)
        return taken

    results = await asyncio.gather(*(writer(i) for i in range(len(plans))))
    for member_id in people:
        total = sum(count for plan in plans for m, count in plan if m == member_id)
        assert await stored_seqs(db, member_id) == list(range(1, total + 1))
        for taken in results:
            mine = [e.seq for e in taken if e.member_id == member_id]
            assert mine == list(range(mine[0], mine[0] + len(mine))) if mine else True
            assert [orjson.loads(e.frame)["n"] for e in taken if e.member_id == member_id] == list(range(len(mine)))


async def test_many_members_with_one_missing_counter_fail_whole(db: Database) -> None:
    people = [await add_member(db, f"m{i:02d}") for i in range(MANY)]
    with pytest.raises(LookupError):
        async with db.write() as conn:
            await event_log.append(conn, [pending(m) for m in [*people, MemberId(999_999)]])
    assert [await last_seq(db, m) for m in people] == [0] * len(people)
