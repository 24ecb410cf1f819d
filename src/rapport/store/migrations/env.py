"""Alembic environment: async engines for SQLite and PostgreSQL alike."""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy import pool, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from rapport.store.tables import metadata

config = context.config
MIGRATION_LOCK = 7_316_001  # pg_advisory_xact_lock key: one migrator at a time across processes


def run_migrations(connection: Connection) -> None:
    """Migrate inside one transaction that first takes a transaction-scoped advisory lock on
    PostgreSQL. The lock is released by the same COMMIT that publishes the new schema, so a
    server waiting on it always sees that schema; a session lock released before the commit
    let a second migrator run the DDL again on a fresh database."""
    is_sqlite = connection.dialect.name == "sqlite"
    if not is_sqlite:
        connection.execute(text(f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK})"))
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=is_sqlite,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


async def run_async() -> None:
    engine = create_async_engine(config.get_main_option("sqlalchemy.url") or "", poolclass=pool.NullPool)
    async with engine.connect() as connection:
        if connection.dialect.name == "sqlite":
            await connection.exec_driver_sql("PRAGMA journal_mode=WAL")
            await connection.commit()
        await connection.run_sync(run_migrations)
        # On PostgreSQL the lock autobegan the transaction Alembic ran in, so Alembic's block
        # left it open: this commit publishes the schema and version row and frees the lock.
        await connection.commit()
    await engine.dispose()


if context.is_offline_mode():
    context.configure(url=config.get_main_option("sqlalchemy.url"), target_metadata=metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
else:
    asyncio.run(run_async())
