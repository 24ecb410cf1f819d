"""Migrations are recorded: running them again on a migrated database changes nothing."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from rapport.store.migrate import upgrade


async def test_upgrade_twice_is_a_no_op_and_records_the_head(database_url: str) -> None:
    await upgrade(database_url)  # the fixture migrated once already
    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as conn:
            versions = (await conn.execute(text("SELECT version_num FROM alembic_version"))).scalars().all()
    finally:
        await engine.dispose()
    assert len(versions) == 1
