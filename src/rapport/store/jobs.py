"""The jobs table: enqueue, claim with a lease, and settle a claimed job (rapport.jobs runs them).

Every change to a claimed job is conditional on its lease owner: a runner whose lease
expired (it stalled or crashed) and whose job another runner reclaimed changes nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import String, and_, bindparam, delete, func, insert, or_, select, text, update
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.elements import ColumnElement

from rapport.store.dialect import DIALECTS, Database, id_rows, insert_or_skip
from rapport.store.prepared import IdList, Prepared
from rapport.store.tables import jobs
from rapport.store.types import UTCDateTime

PENDING = "pending"
RUNNING = "running"
FAILED = "failed"


def _add(dialect: str | None) -> Prepared:
    """The insert of one job; with a dialect, a keyed one that skips a (kind, key) already there."""
    statement = insert(jobs) if dialect is None else insert_or_skip(dialect, jobs, "kind", "key")
    values: dict[str, Any] = {name: bindparam(name) for name in ("kind", "key", "payload", "run_at", "created_at")}
    return Prepared(statement.values(state=PENDING, **values).returning(jobs.c.id), dialect=dialect)


_ADD = _add(None)
_ADD_KEYED = {dialect: _add(dialect) for dialect in DIALECTS}


async def add(
    conn: AsyncConnection, *, kind: str, key: str | None, payload: str, run_at: datetime, now: datetime
) -> int | None:
    """Store a job; None when a job of this kind and key is already waiting or running.

    Prepared: every message sent schedules its conversation's alert job here."""
    statement = _ADD if key is None else _ADD_KEYED[conn.dialect.name]
    job_id = await statement.scalar(conn, kind=kind, key=key, payload=payload, run_at=run_at, created_at=now)
    return None if job_id is None else int(job_id)


def _due(now: datetime) -> ColumnElement[bool]:
    """Waiting and due, or running under a lease that has expired (its runner died)."""
    return or_(
        and_(jobs.c.state == PENDING, jobs.c.run_at <= now),
        and_(jobs.c.state == RUNNING, jobs.c.lease_expires_at <= now),
    )


_NEXT_DUE = Prepared(
    select(
        select(func.min(jobs.c.run_at)).where(jobs.c.state == PENDING).scalar_subquery(),
        select(func.min(jobs.c.lease_expires_at)).where(jobs.c.state == RUNNING).scalar_subquery(),
    )
)


async def next_due(db: Database) -> datetime | None:
    """When the earliest job becomes due (its run_at, or the end of an expired runner's lease);
    None with no job waiting or running. Idle runners poll with it: one statement, read outside
    a transaction (`Database.fetch`), not a claim."""
    rows = await db.fetch(_NEXT_DUE)
    times = [t for t in (rows[0] if rows else ()) if t is not None]
    return min(times) if times else None


async def claim(
    conn: AsyncConnection, *, owner: str, now: datetime, lease_until: datetime, limit: int
) -> Sequence[Row[Any]]:
    """Lease up to `limit` due jobs to `owner`, oldest first, counting an attempt for each.

    PostgreSQL: the chosen rows are locked with FOR UPDATE SKIP LOCKED, so concurrent
    runners take different jobs without waiting for each other. SQLite has one writer at a
    time (BEGIN IMMEDIATE), and SQLAlchemy renders no FOR UPDATE there; the UPDATE repeats
    the due condition, so a row another runner took in between is never taken twice.
    """
    due = _due(now)
    chosen = select(jobs.c.id).where(due).order_by(jobs.c.run_at, jobs.c.id).limit(limit)
    chosen = chosen.with_for_update(skip_locked=True)
    statement = (
        update(jobs)
        .where(jobs.c.id.in_(chosen.scalar_subquery()), due)
        .values(state=RUNNING, lease_owner=owner, lease_expires_at=lease_until, attempts=jobs.c.attempts + 1)
        .returning(jobs)
    )
    return list(await conn.execute(statement))


def _owned(job_id: int, owner: str) -> ColumnElement[bool]:
    return and_(jobs.c.id == job_id, jobs.c.state == RUNNING, jobs.c.lease_owner == owner)


async def finish(conn: AsyncConnection, *, job_id: int, owner: str) -> bool:
    """The job is done: its row goes (its key is free again)."""
    return (await conn.execute(delete(jobs).where(_owned(job_id, owner)))).rowcount == 1


async def finish_many(conn: AsyncConnection, *, job_ids: Sequence[int], owner: str) -> int:
    """Several jobs done at once; how many were still this owner's."""
    statement = delete(jobs).where(jobs.c.id.in_(list(job_ids)), jobs.c.state == RUNNING, jobs.c.lease_owner == owner)
    return int((await conn.execute(statement)).rowcount)


async def add_many(conn: AsyncConnection, *, rows: Sequence[dict[str, Any]]) -> None:
    """Store keyless jobs (kind, payload, run_at, created_at) in one executemany."""
    if rows:
        await conn.execute(insert(jobs), [{**r, "key": None, "state": PENDING} for r in rows])


def _add_per_id(dialect: str) -> Prepared:
    # One statement whatever the number of ids (one parameter); the payload is made by the
    # database, so no JSON is built in Python per job.
    payload = (
        "json_object(:field, value)"
        if dialect == "sqlite"
        else "CAST(json_build_object(CAST(:field AS text), value) AS text)"
    )
    sql = (
        "INSERT INTO jobs (kind, key, payload, run_at, attempts, state, created_at) "
        f"SELECT :kind, NULL, {payload}, :run_at, 0, '{PENDING}', :now FROM {id_rows(dialect, 'ids')}"
    )
    return Prepared(
        text(sql).bindparams(
            bindparam("ids", type_=IdList()),
            bindparam("kind", type_=String()),
            bindparam("field", type_=String()),
            bindparam("run_at", type_=UTCDateTime()),
            bindparam("now", type_=UTCDateTime()),
        ),
        dialect=dialect,
    )


_ADD_PER_ID = {dialect: _add_per_id(dialect) for dialect in DIALECTS}


async def add_per_id(
    conn: AsyncConnection, *, kind: str, field: str, ids: Sequence[int], run_at: datetime, now: datetime
) -> None:
    """Store one keyless job per id, each with the payload `{field: id}`, in one statement."""
    if ids:
        await _ADD_PER_ID[conn.dialect.name].execute(conn, ids=ids, kind=kind, field=field, run_at=run_at, now=now)


async def postpone(
    conn: AsyncConnection,
    *,
    job_id: int,
    owner: str,
    run_at: datetime,
    error: str | None = None,
    payload: str | None = None,
    reset_attempts: bool = False,
) -> bool:
    """Back to waiting until `run_at`: a retry after `error`, or a long job resuming from `payload`."""
    values: dict[str, Any] = {"state": PENDING, "run_at": run_at, "lease_owner": None, "lease_expires_at": None}
    if error is not None:
        values["last_error"] = error
    if payload is not None:
        values["payload"] = payload
    if reset_attempts:
        values["attempts"] = 0
    return (await conn.execute(update(jobs).where(_owned(job_id, owner)).values(values))).rowcount == 1


async def fail(conn: AsyncConnection, *, job_id: int, owner: str, error: str) -> bool:
    """Give up: the row stays for the operator, its key is freed for new work."""
    values = {"state": FAILED, "key": None, "last_error": error, "lease_owner": None, "lease_expires_at": None}
    return (await conn.execute(update(jobs).where(_owned(job_id, owner)).values(values))).rowcount == 1


async def count(conn: AsyncConnection, *, kind: str | None = None, state: str | None = None) -> int:
    """How many jobs (of a kind, in a state): for tests, benchmarks and operators."""
    query = select(func.count()).select_from(jobs)
    if kind is not None:
        query = query.where(jobs.c.kind == kind)
    if state is not None:
        query = query.where(jobs.c.state == state)
    return int(await conn.scalar(query) or 0)


async def get(conn: AsyncConnection, *, kind: str, key: str) -> Row[Any] | None:
    """The job waiting or running (or failed) under this kind and key."""
    return (await conn.execute(select(jobs).where(jobs.c.kind == kind, jobs.c.key == key))).first()
