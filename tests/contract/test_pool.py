"""The PostgreSQL pool keeps the connections it opens (DESIGN §7 "Scale-out").

With overflow connections, each one was closed on its return, so every busy moment past
the pool's size forked a PostgreSQL backend again and prepared every statement anew on it
(at 32 senders on one process: a new session for one message in five).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import asyncpg  # type: ignore[import-untyped]
import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from rapport.store.dialect import POSTGRES_POOL_SIZE, Database
from tests.servers import create_pg_database, drop_pg_database, require_postgres

pytestmark = pytest.mark.postgres


@pytest.fixture
async def pg_url() -> AsyncIterator[str]:
    url = await create_pg_database(await require_postgres())
    try:
        yield url
    finally:
        await drop_pg_database(url)


async def _sessions(url: str) -> tuple[int, int]:
    """Sessions ever opened on the database of `url`, and those open now (this one excluded)."""
    u = make_url(url)
    conn = await asyncpg.connect(u.set(drivername="postgresql").render_as_string(hide_password=False))
    try:
        row = await conn.fetchrow(
            "SELECT (SELECT sessions FROM pg_stat_database WHERE datname = $1) AS opened,"
            " (SELECT count(*) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()) AS open",
            u.database,
        )
    finally:
        await conn.close()
    return int(row["opened"]), int(row["open"])


async def test_busy_moments_past_the_pool_size_reuse_its_connections(pg_url: str) -> None:
    db = Database(pg_url)
    busy = POSTGRES_POOL_SIZE + 12

    async def one() -> None:
        async with db.write() as conn:
            await conn.execute(text("SELECT pg_sleep(0.01)"))

    try:
        await asyncio.gather(*(one() for _ in range(busy)))
        opened, held = await _sessions(pg_url)
        assert held == POSTGRES_POOL_SIZE  # more at once than the cap: they waited, none failed
        for _ in range(3):
            await asyncio.gather(*(one() for _ in range(busy)))
        again, still = await _sessions(pg_url)
    finally:
        await db.dispose()
    # Only our own probe connections may count in between (as the statistics are flushed).
    assert again - opened <= 2, "the pool opened new sessions for later busy moments"
    assert still == POSTGRES_POOL_SIZE
