"""Statements built once, for the paths every message takes, run straight on the driver.

Building a Core statement and finding its compiled form in SQLAlchemy's cache costs about
100 µs a call, and running it through SQLAlchemy's async layer (a greenlet switch, a cursor
adapter, result objects) about as much again; the database runs an indexed statement in a
few µs. A `Prepared` statement is built at import and compiled once per dialect, and this
is the one place that runs statements past SQLAlchemy's execution layer:

- on SQLite, on the driver connection (already on the event loop's thread, see `dialect`);
- on PostgreSQL, as an asyncpg prepared statement on the connection SQLAlchemy holds, in
  the transaction SQLAlchemy's adapter holds on it (started here if no statement has run
  yet, exactly as the adapter itself would), with the adapter's statement cache.

Parameters and results go through the column types' own converters, so a statement reads
and writes exactly what Core would, and errors become SQLAlchemy's (IntegrityError...).
The transaction stays SQLAlchemy's: begin, commit and rollback are its own.

Statements here take named `bindparam`s. Expanding IN lists cannot be prepared (their SQL
changes with the list's length); `in_ids` is their fixed-SQL stand-in: the whole list is one
parameter, JSON read by `json_each` on SQLite, an array compared with `= ANY` on PostgreSQL.
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import BigInteger, Boolean, String, bindparam, exc
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql import ClauseElement, ColumnElement
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.expression import Executable
from sqlalchemy.sql.type_api import TypeEngine
from sqlalchemy.sql.visitors import InternalTraversal
from sqlalchemy.types import TypeDecorator

Convert = Callable[[Any], Any]


class IdList(TypeDecorator[Iterable[int]]):
    """Integer ids as one parameter: JSON text on SQLite, a bigint array on PostgreSQL."""

    impl = String
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "postgresql":
            return dialect.type_descriptor(ARRAY(BigInteger()))
        return dialect.type_descriptor(String())

    def process_bind_param(self, value: Iterable[int] | None, dialect: Dialect) -> Any:
        ids = [int(v) for v in value or ()]
        return ids if dialect.name == "postgresql" else json.dumps(ids)


class _InIds(ColumnElement[bool]):
    inherit_cache = True
    type = Boolean()
    _is_implicitly_boolean = True  # a comparison already: no "= 1" after it on SQLite
    _traverse_internals = [
        ("column", InternalTraversal.dp_clauseelement),
        ("ids", InternalTraversal.dp_clauseelement),
    ]

    def __init__(self, column: ColumnElement[Any], ids: ColumnElement[Any]) -> None:
        self.column = column
        self.ids = ids


@compiles(_InIds)
def _in_json_each(element: _InIds, compiler: SQLCompiler, **kw: Any) -> str:
    column, ids = compiler.process(element.column, **kw), compiler.process(element.ids, **kw)
    return f"{column} IN (SELECT value FROM json_each({ids}))"


@compiles(_InIds, "postgresql")
def _in_any(element: _InIds, compiler: SQLCompiler, **kw: Any) -> str:
    return f"{compiler.process(element.column, **kw)} = ANY({compiler.process(element.ids, **kw)})"


def in_ids(column: ColumnElement[Any], name: str) -> ColumnElement[bool]:
    """`column IN <the ids passed as name>`, with SQL that does not change with their number."""
    return _InIds(column, bindparam(name, type_=IdList()))


@dataclass(slots=True)
class _Compiled:
    sql: str
    names: tuple[str, ...]
    constants: Mapping[str, Any]
    binders: Mapping[str, Convert]
    # Result converters; on PostgreSQL some depend on the type the server reports, so they are
    # known after the first run (`_Compiled` is per dialect, and the statement's SQL is fixed).
    readers: tuple[Convert | None, ...] | None


class Prepared:
    """One statement with named parameters: `await q.rows(conn, a=1)`."""

    made: list[Prepared] = []  # every one, for `compile_all`

    def __init__(self, statement: Executable, *, dialect: str | None = None) -> None:
        """`dialect`: the one store this statement is written for (an upsert in its syntax),
        where most statements run on either."""
        Prepared.made.append(self)
        self.statement = statement
        self.dialect = dialect
        columns = getattr(statement, "exported_columns", ())
        self.keys: tuple[str, ...] = tuple(c.key for c in columns)
        self._compiled: dict[str, _Compiled] = {}

    def _compile(self, dialect: Dialect) -> _Compiled:
        compiled = cast(SQLCompiler, cast(ClauseElement, self.statement).compile(dialect=dialect))
        names = tuple(compiled.positiontup or ())
        constants: dict[str, Any] = {}
        binders: dict[str, Convert] = {}
        for name in set(names):
            bind = compiled.binds[name]
            if bind.expanding:
                raise ValueError(f"{name}: expanding parameters cannot be prepared")
            if bind.value is not None or not bind.required:
                constants[name] = bind.value
            process = bind.type.dialect_impl(dialect).bind_processor(dialect)
            if process is not None:
                binders[name] = process
        columns = getattr(self.statement, "exported_columns", ())
        readers = _readers(columns, dialect, None) if dialect.name == "sqlite" else None
        return _Compiled(compiled.string, names, constants, binders, readers)

    @classmethod
    def compile_all(cls, dialect: Dialect) -> int:
        """Compile every statement made so far for `dialect`, so that no request pays for it
        (a served process does this at start); returns how many."""
        mine = [p for p in cls.made if p.dialect in (None, dialect.name)]
        for prepared in mine:
            prepared._ready_for(dialect)
        return len(mine)

    async def rows(self, conn: AsyncConnection, **params: Any) -> list[tuple[Any, ...]]:
        """The rows the statement returns (none for DML without RETURNING)."""
        return (await self._run(conn, params))[0]

    async def first(self, conn: AsyncConnection, **params: Any) -> tuple[Any, ...] | None:
        found = await self.rows(conn, **params)
        return found[0] if found else None

    async def scalar(self, conn: AsyncConnection, **params: Any) -> Any:
        found = await self.first(conn, **params)
        return found[0] if found else None

    async def mapping(self, conn: AsyncConnection, **params: Any) -> dict[str, Any] | None:
        found = await self.first(conn, **params)
        return dict(zip(self.keys, found, strict=True)) if found else None

    async def mappings(self, conn: AsyncConnection, **params: Any) -> list[dict[str, Any]]:
        """The rows as dicts keyed by column name (or label)."""
        return [dict(zip(self.keys, row, strict=True)) for row in await self.rows(conn, **params)]

    async def execute(self, conn: AsyncConnection, **params: Any) -> int:
        """Run a DML statement; returns the number of rows it matched."""
        return (await self._run(conn, params))[1]

    async def many(self, conn: AsyncConnection, rows: Sequence[Mapping[str, Any]]) -> None:
        """Run a DML statement once per parameter set, in one driver call."""
        if conn.dialect.name != "sqlite":
            await conn.execute(self.statement, [dict(r) for r in rows])
            return
        compiled = self._ready(conn)
        # Rows of a batch often share a value (one transaction's time): convert each object once.
        seen: dict[tuple[str, int], Any] = {}
        batch = [self._args(compiled, r, seen) for r in rows]
        try:
            self._driver(conn).run_many(compiled.sql, batch)
        except sqlite3.Error as error:
            raise exc.DBAPIError.instance(compiled.sql, batch, error, sqlite3.Error) from error

    def on_sqlite(
        self, driver: sqlite3.Connection, dialect: Dialect, params: Mapping[str, Any]
    ) -> list[tuple[Any, ...]]:
        """The rows of this statement run on a bare SQLite connection, outside any transaction:
        for a read that is a whole snapshot by itself (`Database.fetch`)."""
        compiled = self._ready_for(dialect)
        rows, _ = _run_sqlite(driver, compiled.sql, self._args(compiled, params))
        return self._read(compiled, rows)

    def _ready(self, conn: AsyncConnection) -> _Compiled:
        return self._ready_for(conn.dialect)

    def _ready_for(self, dialect: Dialect) -> _Compiled:
        compiled = self._compiled.get(dialect.name)
        if compiled is None:
            compiled = self._compiled[dialect.name] = self._compile(dialect)
        return compiled

    @staticmethod
    def _args(
        compiled: _Compiled, params: Mapping[str, Any], seen: dict[tuple[str, int], Any] | None = None
    ) -> list[Any]:
        """The driver's arguments; with `seen`, each (parameter, object) is converted once (the
        objects stay alive in the caller's rows, so their ids are not reused meanwhile)."""
        args = []
        for name in compiled.names:
            value = params[name] if name in params else compiled.constants[name]
            process = compiled.binders.get(name)
            if process is None or value is None:
                args.append(value)
            elif seen is None:
                args.append(process(value))
            else:
                key = (name, id(value))
                if key not in seen:
                    seen[key] = process(value)
                args.append(seen[key])
        return args

    @staticmethod
    def _driver(conn: AsyncConnection) -> Any:
        """The SQLite driver connection under `conn` (see dialect._InlineConnection)."""
        return conn.sync_connection.connection.driver_connection  # type: ignore[union-attr]

    async def _run(self, conn: AsyncConnection, params: Mapping[str, Any]) -> tuple[list[tuple[Any, ...]], int]:
        if conn.dialect.name != "sqlite":
            adapter = _asyncpg_adapter(conn)
            if adapter is None:  # a driver this module does not know: SQLAlchemy runs it
                result = await conn.execute(self.statement, dict(params))
                rows = [tuple(r) for r in result] if result.returns_rows else []
                return rows, result.rowcount
            compiled = self._ready(conn)
            rows, count, types = await _run_asyncpg(conn, adapter, compiled, self._args(compiled, params))
            if compiled.readers is None:
                columns = getattr(self.statement, "exported_columns", ())
                compiled.readers = _readers(columns, conn.dialect, types)
        else:
            if not conn.in_transaction():
                await conn.begin()  # what Core's autobegin would do: reads stay one snapshot
            compiled = self._ready(conn)
            rows, count = _run_sqlite(self._driver(conn).sqlite, compiled.sql, self._args(compiled, params))
        return self._read(compiled, rows), count

    @staticmethod
    def _read(compiled: _Compiled, rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
        """Rows through the columns' result converters."""
        readers = compiled.readers or ()
        if rows and any(readers):
            return [tuple(v if r is None else r(v) for r, v in zip(readers, row, strict=True)) for row in rows]
        return rows


def _run_sqlite(driver: sqlite3.Connection, sql: str, args: list[Any]) -> tuple[list[tuple[Any, ...]], int]:
    """One statement on a SQLite driver connection, here and now: its rows and its row count,
    a driver error raised as SQLAlchemy's."""
    try:
        cursor = driver.execute(sql, args)
        try:
            return cursor.fetchall(), cursor.rowcount
        finally:
            cursor.close()
    except sqlite3.Error as error:
        raise exc.DBAPIError.instance(sql, args, error, sqlite3.Error) from error


# What `_run_asyncpg` uses of SQLAlchemy's asyncpg adapter (sqlalchemy.dialects.postgresql.asyncpg).
_ADAPTER = ("_execute_mutex", "_transaction", "_start_transaction", "_prepare", "_handle_exception")
_ROW_COUNT = re.compile(r"(?:SELECT|UPDATE|DELETE|INSERT \d+) (\d+)")


def _asyncpg_adapter(conn: AsyncConnection) -> Any | None:
    """SQLAlchemy's asyncpg connection adapter under `conn`, if it has what this module uses."""
    adapter = conn.sync_connection.connection.dbapi_connection  # type: ignore[union-attr]
    return adapter if all(hasattr(adapter, name) for name in _ADAPTER) else None


async def _run_asyncpg(
    conn: AsyncConnection, adapter: Any, compiled: _Compiled, args: list[Any]
) -> tuple[list[tuple[Any, ...]], int, list[int]]:
    """One statement on asyncpg, as the adapter's cursor runs it, minus the cursor: its rows,
    its row count and the type (oid) of each column."""
    async with adapter._execute_mutex:
        if adapter._transaction is None:
            await adapter._start_transaction()
        try:
            statement, attributes = await adapter._prepare(compiled.sql, conn.dialect._invalidate_schema_cache_asof)  # type: ignore[attr-defined]
            records = await statement.fetch(*args)
        except Exception as error:
            try:
                adapter._handle_exception(error)  # raises the DB-API error for it
            except Exception as dbapi_error:
                dbapi = conn.dialect.loaded_dbapi
                raise exc.DBAPIError.instance(compiled.sql, args, dbapi_error, dbapi.Error) from error
            raise
        found = _ROW_COUNT.match(statement.get_statusmsg() or "")
    types = [a.type.oid for a in attributes or ()]
    return [tuple(r) for r in records], int(found.group(1)) if found else -1, types


def _readers(columns: Sequence[Any], dialect: Dialect, types: Sequence[int] | None) -> tuple[Convert | None, ...]:
    """Each column's result converter; `types` are the column types the server reported, if any."""
    return tuple(
        c.type.dialect_impl(dialect).result_processor(dialect, types[i] if types else None)
        for i, c in enumerate(columns)
    )
