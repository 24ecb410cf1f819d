"""Prepared statements store and read exactly what Core does, on SQLite and PostgreSQL.

On SQLite they bypass SQLAlchemy's execution, so the column types' conversions are theirs
to apply: a row written one way must read back the same the other way.
"""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime

import pytest
from sqlalchemy import bindparam, insert, select
from sqlalchemy.dialects import sqlite
from sqlalchemy.dialects.postgresql import asyncpg
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError, IntegrityError

from rapport.store.dialect import Database
from rapport.store.prepared import Prepared, in_ids
from rapport.store.tables import members

AT = datetime(2026, 11, 24, 9, 30, 15, 123456, tzinfo=UTC)
COLUMNS = (members.c.id, members.c.handle, members.c.avatar_url, members.c.open_profile, members.c.created_at)

ADD = Prepared(
    insert(members)
    .values(
        handle=bindparam("handle"),
        email=bindparam("email"),
        password_hash="x",
        name="N",
        avatar_url=bindparam("avatar"),
        open_profile=bindparam("open"),
        created_at=bindparam("at"),
    )
    .returning(*COLUMNS)
)
BY_HANDLE = Prepared(select(*COLUMNS).where(members.c.handle == bindparam("wanted")))


async def test_a_row_written_prepared_reads_back_the_same_through_core(db: Database) -> None:
    async with db.write() as conn:
        returned = await ADD.mapping(conn, handle="ada", email="ada@x.test", avatar=None, open=True, at=AT)
    assert returned is not None
    assert (returned["handle"], returned["avatar_url"], returned["open_profile"]) == ("ada", None, True)
    assert returned["created_at"] == AT and returned["created_at"].tzinfo is not None
    async with db.read() as conn:
        core = (await conn.execute(select(*COLUMNS).where(members.c.handle == "ada"))).one()._mapping
    assert dict(core) == returned


async def test_a_row_written_through_core_reads_back_the_same_prepared(db: Database) -> None:
    async with db.write() as conn:
        await conn.execute(
            insert(members).values(
                handle="bo", email="bo@x.test", password_hash="x", name="B", open_profile=False, created_at=AT
            )
        )
    async with db.read() as conn:
        row = await BY_HANDLE.mapping(conn, wanted="bo")
        missing = await BY_HANDLE.first(conn, wanted="nobody")
    assert row is not None and missing is None
    assert (row["open_profile"], row["created_at"]) == (False, AT)


async def test_a_constraint_violation_raises_sqlalchemys_error_and_rolls_back(db: Database) -> None:
    async with db.write() as conn:
        await ADD.execute(conn, handle="cy", email="cy@x.test", avatar="https://a", open=False, at=AT)
    with pytest.raises(IntegrityError):
        async with db.write() as conn:
            await ADD.execute(conn, handle="cy2", email="cy2@x.test", avatar=None, open=False, at=AT)
            await ADD.execute(conn, handle="cy", email="other@x.test", avatar=None, open=False, at=AT)
    async with db.read() as conn:
        assert await BY_HANDLE.first(conn, wanted="cy2") is None  # the whole transaction rolled back
        assert await BY_HANDLE.scalar(conn, wanted="cy") is not None


def test_expanding_parameters_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Prepared, "made", list(Prepared.made))  # this one is not for `compile_all`
    statement = Prepared(select(members.c.id).where(members.c.id.in_(bindparam("ids", expanding=True))))
    with pytest.raises(ValueError, match="expanding"):
        statement._compile(sqlite.dialect())


BY_IDS = Prepared(select(members.c.id, members.c.handle).where(in_ids(members.c.id, "ids")).order_by(members.c.id))


async def test_a_list_of_ids_is_one_parameter_and_finds_what_an_in_list_finds(db: Database) -> None:
    async with db.write() as conn:
        made = [
            (await ADD.mapping(conn, handle=f"m{i}", email=f"m{i}@x.test", avatar=None, open=False, at=AT) or {})["id"]
            for i in range(30)
        ]
    async with db.read() as conn:
        for wanted in ([], made[:1], made[3:17], [*made, 10**12, -1], set(made[::2])):
            core = (await conn.execute(select(members.c.id, members.c.handle).where(members.c.id.in_(wanted)))).all()
            prepared = await BY_IDS.rows(conn, ids=wanted)
            assert prepared == sorted(tuple(r) for r in core)
        assert len(await BY_IDS.rows(conn, ids=list(range(1, 5000)) + made)) == 30


async def test_fetch_reads_what_was_committed_converted_as_core_reads_it(db: Database) -> None:
    assert await db.fetch(BY_HANDLE, wanted="cy") == []
    async with db.write() as conn:
        returned = await ADD.first(conn, handle="cy", email="cy@x.test", avatar="a.png", open=False, at=AT)
    assert await db.fetch(BY_HANDLE, wanted="cy") == [returned]
    async with db.write() as conn:
        await conn.execute(members.update().where(members.c.handle == "cy").values(avatar_url="b.png"))
    (row,) = await db.fetch(BY_HANDLE, wanted="cy")
    assert row[2] == "b.png" and row[4] == AT and row[4].tzinfo is not None


async def test_fetch_never_stores_a_write(db: Database) -> None:
    """`fetch` is for reads: SQLite's connection for it refuses writes, PostgreSQL's pooled
    read rolls back what it did not commit."""
    with contextlib.suppress(DBAPIError):
        await db.fetch(ADD, handle="dee", email="dee@x.test", avatar=None, open=True, at=AT)
    assert await db.fetch(BY_HANDLE, wanted="dee") == []
    async with db.read() as conn:
        assert await BY_HANDLE.first(conn, wanted="dee") is None


@pytest.mark.parametrize("dialect", [sqlite.dialect(), asyncpg.dialect()], ids=["sqlite", "postgresql"])
def test_every_statement_compiles_at_start_for_each_store(dialect: Dialect) -> None:
    """A served process compiles them all at start; one written for the other store (its
    upsert syntax) is left out, not compiled into an error that stops the start."""
    import rapport.api.app  # noqa: F401 - imports every store module, which make the statements

    count = Prepared.compile_all(dialect)
    assert count > 50
    assert len([p for p in Prepared.made if p.dialect not in (None, dialect.name)]) >= 4
