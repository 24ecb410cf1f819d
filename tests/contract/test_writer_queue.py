"""The SQLite writer's queue: bulk work marked `background` lets members' writes go first."""

from __future__ import annotations

import asyncio
import os

import pytest
from sqlalchemy import text

from rapport.store.dialect import Database

# PostgreSQL has no single writer to queue for: these run on SQLite only (not skipped there).
pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


async def test_a_background_write_lets_the_writes_queued_meanwhile_go_first(db: Database) -> None:
    order: list[str] = []
    release = asyncio.Event()

    async def write(name: str, *, background: bool = False, hold: bool = False) -> None:
        async with db.write(background=background):
            order.append(name)
            if hold:
                await release.wait()

    holder = asyncio.create_task(write("holder", hold=True))
    await asyncio.sleep(0.01)
    first = asyncio.create_task(write("member 1"))
    await asyncio.sleep(0.01)
    page = asyncio.create_task(write("page", background=True))
    await asyncio.sleep(0.01)
    second = asyncio.create_task(write("member 2"))  # came after the page, still goes before it
    await asyncio.sleep(0.01)
    release.set()
    await asyncio.gather(holder, first, page, second)
    assert order == ["holder", "member 1", "member 2", "page"]


async def test_a_background_write_still_goes_ahead_while_members_keep_writing(db: Database) -> None:
    order: list[str] = []
    writers: list[asyncio.Task[None]] = []
    stop = asyncio.Event()

    async def member(chain: str, n: int) -> None:
        async with db.write():
            order.append(f"member {chain}{n}")
            if not stop.is_set():  # two chains, each queueing its next write: never an empty queue
                writers.append(asyncio.create_task(member(chain, n + 1)))
            await asyncio.sleep(0.005)

    async def page() -> None:
        async with db.write(background=True):
            order.append("page")

    writers.extend(asyncio.create_task(member(chain, 0)) for chain in "ab")
    await asyncio.sleep(0.01)
    bulk = asyncio.create_task(page())
    await asyncio.sleep(0.3)  # many times YIELD_SECONDS
    stop.set()
    await bulk
    while not all(w.done() for w in writers):
        await asyncio.gather(*writers)
    assert order.index("page") < len(order) - 10


async def test_the_writer_checkpoints_the_log_after_answering_the_writes_that_filled_it(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SQLite's own autocheckpoint is off on the writer (it ran inside the COMMIT, so the
    writes of that group waited for it); the writer copies the log back itself once it has
    answered, after every CHECKPOINT_CHANGES rows changed."""
    monkeypatch.setattr(type(db._group), "CHECKPOINT_CHANGES", 200)
    main_file = db.url.database or ""

    async def fill(rows: int) -> None:
        async with db.write() as conn:
            await conn.execute(text("CREATE TABLE IF NOT EXISTS filler (x TEXT)"))
            await conn.execute(text("INSERT INTO filler VALUES (:x)"), [{"x": "x" * 500}] * rows)

    await fill(50)  # under the threshold: the rows stay in the log
    assert db._group._checkpoint is None
    before = _size(main_file)
    await fill(400)  # crosses it: answered first, then checkpointed
    task = db._group._checkpoint
    assert task is not None and not task.done()
    await task
    assert _size(main_file) > before + 400 * 500  # the pages are in the database file now
    async with db.read() as conn:
        assert (await conn.execute(text("SELECT count(*) FROM filler"))).scalar() == 450


def _size(path: str) -> int:
    return os.path.getsize(path)
