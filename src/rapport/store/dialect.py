"""The one place that knows SQLite from PostgreSQL.

SQLite allows one writer at a time. Rather than let concurrent transactions collide and
retry on SQLITE_BUSY, writes go through a pool of exactly one connection that opens
transactions with BEGIN IMMEDIATE: writers queue in the pool, in order, and readers keep
their own connections, which WAL lets run beside the writer. PostgreSQL needs none of
this: readers and writers share one pool, and row locks order concurrent writers.

SQLite statements run on the event loop's own thread. aiosqlite hands every call (cursor,
execute, fetch, close) to a worker thread and back, four round trips per statement, and
on a busy machine each costs more than the indexed statement itself: a message's send
spent most of its time in those hops. Only the two calls that may wait run in the worker
thread: BEGIN IMMEDIATE (for the write lock) and COMMIT (for the fsync).

SQLite writes commit in groups. With one writer connection, each transaction used to hold
it through its own fsync, so sends queued behind one fsync each. Now the writers waiting
when a group starts run one after another in one transaction, each inside its own
savepoint (a failing one rolls back alone), and the group commits once. No writer's block
returns before the commit that holds its changes: a 201 still means on disk.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from functools import partial
from pathlib import Path
from typing import Any

import aiosqlite
from sqlalchemy import ColumnElement, Float, Insert, Table, event, func, select, text
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from rapport.store.prepared import Prepared

log = logging.getLogger(__name__)

_SYNCHRONOUS = {"OFF", "NORMAL", "FULL", "EXTRA"}
BUSY_TIMEOUT_MS = 30_000


POSTGRES_POOL_SIZE = 20
"""Connections a process keeps to PostgreSQL, at most: `--workers N` holds N times as many."""


class Database:
    """Engines for one database URL, with a write and a read transaction helper; `pool_size`
    is SQLite's readers' (PostgreSQL's is POSTGRES_POOL_SIZE)."""

    def __init__(self, url: str, *, sqlite_synchronous: str = "FULL", pool_size: int = 10) -> None:
        self.url = make_url(url)
        self.is_sqlite = self.url.get_backend_name() == "sqlite"
        self.sqlite_synchronous = sqlite_synchronous
        self._lone: sqlite3.Connection | None = None  # SQLite: for `fetch`
        if self.is_sqlite:
            if sqlite_synchronous not in _SYNCHRONOUS:
                raise ValueError(f"RAPPORT_SQLITE_SYNCHRONOUS must be one of {_SYNCHRONOUS}")
            database = self.url.database or ""
            if database and database != ":memory:":
                Path(database).parent.mkdir(parents=True, exist_ok=True)
            self.writer = _sqlite_engine(self.url, pool_size=1, max_overflow=0, pool_timeout=60)
            self.reader = _sqlite_engine(self.url, pool_size=pool_size, max_overflow=pool_size)
            # The writer's transactions are begun and committed on the driver by `_GroupCommit`.
            _configure_sqlite(self.writer, sqlite_synchronous, begin=None, autocheckpoint=False)
            _configure_sqlite(self.reader, sqlite_synchronous, begin="BEGIN")
            self._group = _GroupCommit(self.writer)
        else:
            # Every connection the pool opens stays in it (no overflow): a connection opened
            # beyond `pool_size` and closed on its return would make the next busy moment open
            # another (a PostgreSQL backend forked, types introspected, every statement
            # prepared again). At 32 senders on one process, the old 10 + 20 overflow opened a
            # session for one message in five. Requests beyond the cap wait for a connection.
            engine = create_async_engine(self.url, pool_size=POSTGRES_POOL_SIZE, max_overflow=0, pool_pre_ping=True)
            self.writer = self.reader = engine

    @property
    def dialect(self) -> str:
        return "sqlite" if self.is_sqlite else "postgresql"

    @asynccontextmanager
    async def write(self, *, background: bool = False) -> AsyncIterator[AsyncConnection]:
        """One write transaction: committed when the block ends, rolled back on error.

        `background` marks bulk work (a campaign's page) that can wait: on SQLite it lets the
        writes already queued for the one writer go first (see `_GroupCommit`)."""
        if self.is_sqlite:
            async with self._group.write(background=background) as conn:
                yield conn
            return
        async with self.writer.begin() as conn:
            yield conn

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncConnection]:
        """One consistent read snapshot."""
        async with self.reader.connect() as conn:
            yield conn

    async def fetch(self, statement: Prepared, **params: Any) -> list[tuple[Any, ...]]:
        """The rows of one read statement, which is a consistent snapshot by itself.

        On SQLite it runs in autocommit on a connection kept for such reads, straight on the
        driver: no pool checkout, no BEGIN, no reset. Measured for the job runner's poll, a
        read transaction around the statement cost 100 µs hot and 600-700 µs after 40 ms idle
        (the usual case for a member's first request and for an idle server's poll), the
        statement alone 5 and 90 µs. PostgreSQL runs it in a pooled read."""
        if not self.is_sqlite:
            async with self.reader.connect() as conn:
                return await statement.rows(conn, **params)
        lone = self._lone
        if lone is None:
            args, kwargs = self.reader.dialect.create_connect_args(self.reader.url)
            # Statements run on the thread of the loop awaiting them, which need not be the one
            # that made it (the tests' live server runs its loop in a thread of its own).
            connect: Any = sqlite3.connect
            lone = connect(*args, **{**kwargs, "check_same_thread": False})
            lone.isolation_level = None
            _apply_pragmas(lone, self.sqlite_synchronous)
            lone.execute("PRAGMA query_only=ON")  # it only ever reads
            self._lone = lone
        return statement.on_sqlite(lone, self.reader.dialect, params)

    async def dispose(self) -> None:
        if self._lone is not None:
            self._lone.close()
            self._lone = None
        if self.is_sqlite:
            await self._group.close()
        await self.writer.dispose()
        if self.reader is not self.writer:
            await self.reader.dispose()


class _Group:
    def __init__(self, conn: AsyncConnection, quota: int) -> None:
        self.conn = conn
        self.quota = quota
        self.size = 0
        self.done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.done.add_done_callback(lambda f: f.cancelled() or f.exception())


class _GroupCommit:
    """Writers take turns on the one writer connection; those queued together commit together.

    A background writer (bulk work nobody waits on: a campaign's page) first lets the
    foreground writers go: it queues only once none is waiting for the writer, or after
    `YIELD_SECONDS`, so a busy network still sees its bulk work advance. A member's send
    then waits behind at most the one page that got in before it."""

    LIMIT = 32
    YIELD_SECONDS = 0.02
    CHECKPOINT_CHANGES = 1000
    """Rows changed (`total_changes`) between two checkpoints of the write-ahead log: about
    SQLite's own 1,000-page autocheckpoint, which this replaces."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self.lock = asyncio.Lock()
        self.queued = 0
        self.foreground = 0
        self._no_foreground = asyncio.Event()
        self._no_foreground.set()
        self.group: _Group | None = None
        self._flushes: set[asyncio.Task[None]] = set()
        # The one writer connection stays checked out between groups: taking it from the pool
        # and handing it back (with the pool's reset) cost more than a message's statements.
        self._conn: AsyncConnection | None = None
        self._checkpointed_at = 0  # the writer's total_changes at its last checkpoint
        self._checkpoint: asyncio.Task[None] | None = None

    async def _connection(self) -> AsyncConnection:
        conn = self._conn
        if conn is None or conn.closed or conn.invalidated:
            conn = self._conn = await self.engine.connect()
        return conn

    async def close(self) -> None:
        """Hand the writer connection back (before the engine is disposed)."""
        if self._checkpoint is not None:
            with contextlib.suppress(Exception):
                await self._checkpoint
        conn, self._conn = self._conn, None
        if conn is not None:
            await conn.close()

    async def _after_foreground(self) -> None:
        if self.foreground:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._no_foreground.wait(), self.YIELD_SECONDS)

    def _foreground_left(self) -> None:
        self.foreground -= 1
        if self.foreground == 0:
            self._no_foreground.set()

    @asynccontextmanager
    async def write(self, *, background: bool = False) -> AsyncIterator[AsyncConnection]:
        if background:
            await self._after_foreground()
        else:
            self.foreground += 1
            self._no_foreground.clear()
        self.queued += 1
        try:
            await self.lock.acquire()
        except BaseException:
            self.queued -= 1
            if not background:
                self._foreground_left()
            if self.queued == 0 and self.group is not None and not self.lock.locked():
                # The writer the group was waiting for gave up: commit without it.
                task = asyncio.create_task(self._flush())
                self._flushes.add(task)
                task.add_done_callback(self._flushes.discard)
            raise
        self.queued -= 1
        if not background:
            self._foreground_left()
        group = self.group
        try:
            if group is None:
                conn = await self._connection()
                try:
                    await _inline(conn).begin_immediate()
                except BaseException:
                    await self._drop()
                    raise
                group = self.group = _Group(conn, min(self.LIMIT, self.queued + 1))
            # The writer's savepoint goes straight to the driver: through SQLAlchemy, SAVEPOINT
            # and RELEASE were compiled afresh each time and cost more than a message's inserts.
            driver = _inline(group.conn).sqlite
            driver.execute("SAVEPOINT writer")
            try:
                yield group.conn
            except BaseException:
                driver.execute("ROLLBACK TO writer")
                driver.execute("RELEASE writer")
                raise
            driver.execute("RELEASE writer")
        finally:
            try:
                if group is not None:
                    group.size += 1
                    if group.size >= group.quota or self.queued == 0:
                        await self._finish(group)
            finally:
                self.lock.release()
        await asyncio.shield(group.done)

    async def _finish(self, group: _Group) -> None:
        self.group = None
        try:
            await _inline(group.conn).commit()
        except BaseException as exc:
            group.done.set_exception(exc)
            await self._drop()  # in an unknown state: the next group takes a fresh connection
            raise
        group.done.set_result(None)
        changes = _inline(group.conn).sqlite.total_changes
        if changes - self._checkpointed_at >= self.CHECKPOINT_CHANGES and self._checkpoint is None:
            self._checkpointed_at = changes
            self._checkpoint = asyncio.create_task(self._run_checkpoint())

    async def _run_checkpoint(self) -> None:
        """Copy the write-ahead log back into the database, once the writes that filled it
        have been answered: SQLite's autocheckpoint ran inside the COMMIT that crossed its
        threshold, so that group's members waited for it (about 20 ms at the bench's data
        set: the slowest send of a quiet minute). It holds the writer like a write, so the
        writes queued meanwhile wait for it as they waited before; PASSIVE never waits for
        readers, and the next write starts the log over once it has all been copied."""
        try:
            async with self.lock:
                if self._conn is not None:
                    await _inline(self._conn).checkpoint()
        except Exception:
            log.warning("WAL checkpoint failed; the next one will copy what this one did not", exc_info=True)
        finally:
            self._checkpoint = None

    async def _drop(self) -> None:
        conn, self._conn = self._conn, None
        self._checkpointed_at = 0  # a new connection counts its changes from 0
        if conn is not None:
            await conn.close()

    async def _flush(self) -> None:
        async with self.lock:
            if self.group is not None and self.queued == 0:
                await self._finish(self.group)


class _InlineConnection(aiosqlite.Connection):
    """aiosqlite, but calls run where they are awaited: no thread round trip per call.

    What may block stays on the worker thread: waiting for the write lock, and the commit.
    """

    async def _execute(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        if not self._running or not self._connection:
            raise ValueError("Connection closed")
        return fn(*args, **kwargs)

    async def begin_immediate(self) -> None:
        """BEGIN IMMEDIATE, straight on the driver: through SQLAlchemy's transaction machinery
        an empty write transaction cost more than a message's inserts.

        Usually the lock is free (one writer connection per process): take it here, without
        waiting. Only when another process holds it, wait on the worker thread."""
        if not self._running or not self._connection:
            raise ValueError("Connection closed")
        conn = self._conn
        conn.execute("PRAGMA busy_timeout=0")
        try:
            conn.execute("BEGIN IMMEDIATE")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) and "busy" not in str(exc):
                raise
        finally:
            conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        await super()._execute(conn.execute, "BEGIN IMMEDIATE")  # type: ignore[no-untyped-call]

    async def commit(self) -> None:
        await super()._execute(self._conn.commit)  # type: ignore[no-untyped-call]

    async def checkpoint(self) -> None:
        """A PASSIVE checkpoint of the write-ahead log, on the worker thread (it writes and
        fsyncs the database file)."""
        await super()._execute(self._checkpoint_here)  # type: ignore[no-untyped-call]

    def _checkpoint_here(self) -> None:
        self._conn.execute("PRAGMA wal_checkpoint(PASSIVE)").close()

    @property
    def sqlite(self) -> sqlite3.Connection:
        return self._conn

    def run_many(self, sql: str, batch: Sequence[Sequence[Any]]) -> None:
        self._conn.executemany(sql, batch).close()


def _inline(conn: AsyncConnection) -> _InlineConnection:
    """The driver connection under `conn` (its statements run here and now)."""
    inline: _InlineConnection = conn.sync_connection.connection.driver_connection  # type: ignore[union-attr,assignment]
    return inline


def _sqlite_engine(url: Any, **options: Any) -> AsyncEngine:
    engine: AsyncEngine

    async def connect() -> aiosqlite.Connection:
        args, kwargs = engine.dialect.create_connect_args(engine.url)
        return await _InlineConnection(partial(sqlite3.connect, *args, **kwargs), 64)

    engine = create_async_engine(url, async_creator=connect, **options)
    return engine


DIALECTS = ("sqlite", "postgresql")


def insert_or_skip(conn: AsyncConnection | str, table: Table, *conflict_columns: str) -> Insert:
    """INSERT … ON CONFLICT (columns) DO NOTHING in the connection's (or named) dialect: a
    duplicate returns no row instead of failing, so no savepoint is needed to survive it."""
    name = conn if isinstance(conn, str) else conn.dialect.name
    if name == "sqlite":
        return sqlite_insert(table).on_conflict_do_nothing(index_elements=list(conflict_columns))
    return postgresql_insert(table).on_conflict_do_nothing(index_elements=list(conflict_columns))


class epoch_seconds(FunctionElement[float]):
    """A time column as POSIX seconds (to the millisecond), computed by the database: reading
    thousands of times back as numbers spares building a datetime for each."""

    type = Float()
    inherit_cache = True
    name = "epoch_seconds"


@compiles(epoch_seconds, "sqlite")
def _epoch_seconds_sqlite(element: epoch_seconds, compiler: SQLCompiler, **kw: Any) -> str:
    # Times are UTC text here; julianday() reads them to the millisecond.
    return f"(round((julianday({compiler.process(element.clauses, **kw)}) - 2440587.5) * 86400000.0) / 1000.0)"


@compiles(epoch_seconds, "postgresql")
def _epoch_seconds_postgresql(element: epoch_seconds, compiler: SQLCompiler, **kw: Any) -> str:
    column = compiler.process(element.clauses, **kw)
    return f"(CAST(round(EXTRACT(EPOCH FROM {column}) * 1000) AS DOUBLE PRECISION) / 1000.0)"


def _configure_sqlite(engine: AsyncEngine, synchronous: str, *, begin: str | None, autocheckpoint: bool = True) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take transaction control away from the driver so "begin" below decides the mode.
        dbapi_connection.isolation_level = None
        _apply_pragmas(dbapi_connection, synchronous)
        if not autocheckpoint:  # the writer checkpoints after answering (`_GroupCommit`)
            dbapi_connection.execute("PRAGMA wal_autocheckpoint=0").close()

    if begin is None:
        return

    @event.listens_for(engine.sync_engine, "begin")
    def on_begin(conn: Any) -> None:
        # Straight on the driver: SQLAlchemy's statement path cost more than the read it begins.
        conn.connection.driver_connection.sqlite.execute(begin)


def _apply_pragmas(connection: Any, synchronous: str) -> None:
    """Every SQLite connection's settings (a driver connection, or aiosqlite's adapter of one)."""
    cursor = connection.cursor()
    for pragma in (
        "PRAGMA journal_mode=WAL",
        f"PRAGMA synchronous={synchronous}",
        "PRAGMA foreign_keys=ON",
        f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}",
        "PRAGMA cache_size=-65536",
        "PRAGMA temp_store=MEMORY",
    ):
        cursor.execute(pragma)
    cursor.close()


_UPPER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def ascii_lower(conn: AsyncConnection, value: ColumnElement[str]) -> ColumnElement[str]:
    """`value` trimmed, with ASCII letters lower-cased, the same on both stores (domain.sponsored.fold):
    SQLite's lower() folds only ASCII, PostgreSQL's folds all of Unicode, so there it is a translate()."""
    trimmed = func.trim(value)
    if conn.dialect.name == "sqlite":
        return func.lower(trimmed)
    return func.translate(trimmed, _UPPER, _UPPER.lower())


_TOP_IDS: dict[str, Prepared] = {}
"""Per table, its largest id as a prepared statement (bulk inserts reserve ids every page)."""


async def reserve_ids(conn: AsyncConnection, table: Table, count: int) -> list[int]:
    """`count` fresh primary keys for rows about to be inserted in bulk, known before the insert
    so that rows pointing at each other go in with one executemany per table.

    PostgreSQL takes them from the column's sequence. SQLite continues after the largest id:
    this runs in a write transaction, which on SQLite holds the database's only write lock.
    """
    if count <= 0:
        return []
    if conn.dialect.name == "sqlite":
        top_id = _TOP_IDS.get(table.name)
        if top_id is None:
            top_id = _TOP_IDS[table.name] = Prepared(select(func.coalesce(func.max(table.c.id), 0)))
        top = int(await top_id.scalar(conn) or 0)
        return list(range(top + 1, top + 1 + count))
    rows = await conn.execute(
        text("SELECT nextval(pg_get_serial_sequence(:table, 'id')) FROM generate_series(1, :count)"),
        {"table": table.name, "count": count},
    )
    return [int(r[0]) for r in rows]


def id_rows(dialect: str, param: str) -> str:
    """SQL for a row source `(value)` with one row per id of the id list bound as `param`
    (store.prepared.IdList: JSON text on SQLite, a bigint array on PostgreSQL)."""
    if dialect == "sqlite":
        return f"json_each(:{param})"
    return f"unnest(:{param}) AS ids(value)"


def bulk_load_engine(url: str, *, pragmas: Sequence[str] = ()) -> AsyncEngine:
    """An engine for filling a database in bulk (the demo network, the bench's data set).

    On SQLite it skips fsyncs (`synchronous=OFF`: a bulk load is re-made from scratch if the
    machine dies mid-way) and takes the write lock at BEGIN, so one long transaction never
    has to upgrade its lock; `pragmas` adds to those. Other stores get a plain engine.
    """
    engine = create_async_engine(url)
    if engine.dialect.name != "sqlite":
        return engine
    settings = ("journal_mode=WAL", "synchronous=OFF", "temp_store=MEMORY", *pragmas)

    @event.listens_for(engine.sync_engine, "connect")
    def bulk_pragmas(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        for pragma in settings:
            cursor.execute(f"PRAGMA {pragma}")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    return engine
