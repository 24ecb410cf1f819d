"""Migrations are recorded: running them again on a migrated database changes nothing."""

from __future__ import annotations

import asyncio
import os
import sys

from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from rapport.store.migrate import upgrade
from tests.servers import create_pg_database, drop_pg_database, require_postgres

MIGRATORS = 3
ROUNDS = 2


async def recorded_versions(url: str) -> list[str]:
    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            return list((await conn.execute(text("SELECT version_num FROM alembic_version"))).scalars())
    finally:
        await engine.dispose()


async def test_upgrade_twice_is_a_no_op_and_records_the_head(database_url: str) -> None:
    await upgrade(database_url)  # the fixture migrated once already
    assert len(await recorded_versions(database_url)) == 1


async def _migrate_in_a_process(url: str) -> tuple[int, str]:
    """`rapport migrate` in its own process: Alembic keeps global state, so one process
    cannot host two migrators, and servers starting together are separate processes anyway."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAPPORT_")}
    env["RAPPORT_DATABASE_URL"] = url
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "rapport",
        "migrate",
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await proc.communicate()
    return proc.returncode or 0, output.decode(errors="replace")


async def test_concurrent_migrators_on_an_empty_postgres_database_all_succeed() -> None:
    """A rolling deploy starts several servers on a fresh database at once: one migrates,
    the others wait for its commit and find nothing left to do. None may fail."""
    server_url = await require_postgres()
    for _ in range(ROUNDS):
        url = await create_pg_database(server_url)
        try:
            results = await asyncio.gather(*(_migrate_in_a_process(url) for _ in range(MIGRATORS)))
            failures = [output for code, output in results if code != 0]
            assert not failures, failures[0][-3000:]
            assert len(await recorded_versions(url)) == 1
        finally:
            await drop_pg_database(url)
