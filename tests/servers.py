"""Real PostgreSQL and Redis for tests: where they are, and what to do when they are not there.

Locally a missing server skips the tests that need it, with the reason. Under CI (CI=true)
it fails them instead: a CI run that silently skipped every PostgreSQL and Redis test
would look green while proving nothing.

URLs: RAPPORT_TEST_POSTGRES_URL (else RAPPORT_TEST_DATABASE_URL when it is a PostgreSQL
URL, else the local default) and RAPPORT_TEST_REDIS_URL.
"""

from __future__ import annotations

import hashlib
import os
import uuid
from typing import NoReturn

import pytest
from sqlalchemy.engine import make_url

DEFAULT_POSTGRES_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"
CONNECT_TIMEOUT = 3.0


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() == "true"


def unavailable(reason: str) -> NoReturn:
    """Skip with `reason`; under CI=true, fail with it instead (CI never skips)."""
    if in_ci():
        pytest.fail(f"{reason} (CI=true: a missing server is a failure, not a skip)", pytrace=False)
    pytest.skip(f"{reason} (start the server or point the URL at one; CI=true makes this fail)")


def postgres_url() -> str:
    explicit = os.environ.get("RAPPORT_TEST_POSTGRES_URL")
    if explicit:
        return explicit
    shared = os.environ.get("RAPPORT_TEST_DATABASE_URL", "")
    return shared if shared.startswith("postgresql") else DEFAULT_POSTGRES_URL


def redis_url() -> str:
    return os.environ.get("RAPPORT_TEST_REDIS_URL") or DEFAULT_REDIS_URL


async def _admin_connection(url: str):  # type: ignore[no-untyped-def]
    import asyncpg  # type: ignore[import-untyped]

    parsed = make_url(url)
    return await asyncpg.connect(
        host=parsed.host,
        port=parsed.port or 5432,
        user=parsed.username,
        password=parsed.password,
        database="postgres",
        timeout=CONNECT_TIMEOUT,
    )


async def require_postgres() -> str:
    """The PostgreSQL server URL, after checking it answers; else skip (or fail under CI)."""
    url = postgres_url()
    try:
        conn = await _admin_connection(url)
    except Exception as exc:  # refused, timed out, auth failed: all mean "not usable"
        unavailable(f"PostgreSQL unreachable at {_safe(url)}: {type(exc).__name__}: {exc}")
    await conn.close()
    return url


async def require_redis() -> str:
    """The Redis URL, after checking it answers PING; else skip (or fail under CI)."""
    import redis.asyncio as aioredis
    from redis.exceptions import RedisError

    url = redis_url()
    client = aioredis.from_url(url, socket_connect_timeout=CONNECT_TIMEOUT, socket_timeout=CONNECT_TIMEOUT)
    try:
        await client.ping()
    except (RedisError, OSError, TimeoutError) as exc:
        unavailable(f"Redis unreachable at {_safe(url)}: {type(exc).__name__}: {exc}")
    finally:
        await client.aclose()
    return url


async def create_pg_database(url: str, *, migrated: bool = False) -> str:
    """A new database on the server of `url`; returns its URL.

    `migrated=True` copies a template that holds the current schema, made once per
    schema version: copying takes a fraction of the time of running the migrations."""
    name = f"rapport_test_{uuid.uuid4().hex[:12]}"
    template = await _schema_template(url) if migrated else "template0"
    conn = await _admin_connection(url)
    try:
        await conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}" STRATEGY FILE_COPY')
    finally:
        await conn.close()
    return make_url(url).set(database=name).render_as_string(hide_password=False)


_templates: dict[str, str] = {}


async def _schema_template(url: str) -> str:
    """The name of a database migrated to head, created on first use under an advisory
    lock so that concurrent test runs on one server build it once."""
    from rapport.store.migrate import MIGRATIONS, upgrade

    if url in _templates:
        return _templates[url]
    digest = hashlib.sha256()
    for path in sorted((MIGRATIONS / "versions").glob("*.py")):
        digest.update(path.read_bytes())
    name = f"rapport_template_{digest.hexdigest()[:12]}"
    conn = await _admin_connection(url)
    try:
        await conn.execute("SELECT pg_advisory_lock(724101)")
        exists = await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
        if not exists:
            building = f"{name}_building"
            await conn.execute(f'DROP DATABASE IF EXISTS "{building}" WITH (FORCE)')
            await conn.execute(f'CREATE DATABASE "{building}" TEMPLATE template0')
            await upgrade(make_url(url).set(database=building).render_as_string(hide_password=False))
            await conn.execute(f'ALTER DATABASE "{building}" RENAME TO "{name}"')
        await conn.execute("SELECT pg_advisory_unlock(724101)")
    finally:
        await conn.close()
    _templates[url] = name
    return name


async def drop_pg_database(url: str) -> None:
    """Drop the database of `url`, closing whatever is still connected to it."""
    name = make_url(url).database
    if not name or not name.startswith("rapport_test_"):
        raise ValueError(f"refusing to drop {name!r}: not a test database")
    conn = await _admin_connection(url)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


def _safe(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True) if "://" in url else url
