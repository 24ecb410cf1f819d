"""The SQLite writer's queue: bulk work marked `background` lets members' writes go first."""

from __future__ import annotations

import asyncio

import pytest

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
