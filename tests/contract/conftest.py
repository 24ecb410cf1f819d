"""Fixtures for the contract suites: every bus and every store, one suite each.

A backend whose server is missing is skipped with the reason, or failed under CI=true
(see tests/servers.py).
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from rapport.bus import Bus
from rapport.bus.memory import MemoryBus
from rapport.bus.redis import RedisBus
from rapport.store.dialect import Database
from rapport.store.migrate import upgrade
from tests.servers import create_pg_database, drop_pg_database, require_postgres, require_redis


@pytest.fixture
def member_ids() -> Callable[[], int]:
    """Fresh member ids, random per test: Redis channels are shared by every test run
    on the server, so two runs must never listen to the same member."""
    base = 1_000_000_000 + secrets.randbelow(1_000_000_000) * 1_000
    counter = iter(range(base, base + 1_000))
    return lambda: next(counter)


@pytest.fixture
def redis_client_name() -> str:
    """A name for the bus's Redis connections, so a test can find and kill exactly its own."""
    return f"rapport-test-{uuid.uuid4().hex[:12]}"


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
async def bus(request: pytest.FixtureRequest, redis_client_name: str) -> AsyncIterator[Bus]:
    instance: Bus
    if request.param == "memory":
        instance = MemoryBus()
    else:
        url = await require_redis()
        sep = "&" if "?" in url else "?"
        instance = RedisBus(f"{url}{sep}client_name={redis_client_name}", max_backoff=0.2)
    await instance.start()
    try:
        yield instance
    finally:
        await instance.close()


@pytest.fixture
async def redis_url() -> str:
    return await require_redis()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """A migrated, empty database of each dialect."""
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'contract.db'}"
        await upgrade(url)
        yield url
    else:
        url = await create_pg_database(await require_postgres())
        try:
            await upgrade(url)
            yield url
        finally:
            await drop_pg_database(url)


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    database = Database(database_url, sqlite_synchronous="NORMAL")
    try:
        yield database
    finally:
        await database.dispose()
