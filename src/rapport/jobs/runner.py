"""The job runner: claim due jobs with a lease, run their handlers, settle each (see the package docstring)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import orjson
from sqlalchemy.ext.asyncio import AsyncConnection

from rapport.clock import Clock
from rapport.store import jobs as store
from rapport.store.dialect import Database

log = logging.getLogger(__name__)

BACKOFF_BASE = timedelta(seconds=5)
BACKOFF_CAP = timedelta(hours=1)


@dataclass(frozen=True)
class Job:
    """A claimed job, as its handler sees it."""

    id: int
    kind: str
    key: str | None
    payload: dict[str, Any]
    attempts: int
    """This run's attempt number, from 1 (reset by a Reschedule)."""
    run_at: datetime


@dataclass(frozen=True)
class Reschedule:
    """A handler's answer for "not finished": save `payload` (e.g. a cursor) and run again after `delay`."""

    payload: Mapping[str, Any]
    delay: timedelta = timedelta(0)


Handler = Callable[[Job], Awaitable[Reschedule | None]]
Outcome = Reschedule | None | Exception
BatchHandler = Callable[[list[Job]], Awaitable[Mapping[int, Outcome]]]


@dataclass(frozen=True)
class _Kind:
    handler: Handler | None
    batch: BatchHandler | None
    max_attempts: int


def backoff(attempt: int) -> timedelta:
    """The wait after failed attempt number `attempt` (1, 2, ...): doubling from 5 s, at most one hour."""
    doubled: timedelta = BACKOFF_BASE * (2 ** max(0, attempt - 1))
    return min(doubled, BACKOFF_CAP)


async def enqueue(
    conn: AsyncConnection,
    *,
    kind: str,
    run_at: datetime,
    payload: Mapping[str, Any] | None = None,
    key: str | None = None,
    now: datetime | None = None,
) -> bool:
    """Add a job in the caller's transaction; False (nothing stored) when (kind, key) already waits or runs.

    `now` (the unit of work's time) is recorded as the job's creation time; it defaults to `run_at`.
    """
    encoded = orjson.dumps(dict(payload or {})).decode()
    job_id = await store.add(conn, kind=kind, key=key, payload=encoded, run_at=run_at, now=now or run_at)
    return job_id is not None


async def enqueue_many(
    conn: AsyncConnection, *, kind: str, payloads: Sequence[Mapping[str, Any]], run_at: datetime, now: datetime
) -> None:
    """Add keyless jobs of one kind in the caller's transaction, in one statement."""
    rows = [
        {"kind": kind, "payload": orjson.dumps(dict(p)).decode(), "run_at": run_at, "created_at": now} for p in payloads
    ]
    await store.add_many(conn, rows=rows)


async def enqueue_per_id(
    conn: AsyncConnection, *, kind: str, field: str, ids: Sequence[int], run_at: datetime, now: datetime
) -> None:
    """Add one keyless job per id, each with the payload `{field: id}`, in the caller's
    transaction: one statement, and no JSON built in Python, however many ids."""
    await store.add_per_id(conn, kind=kind, field=field, ids=ids, run_at=run_at, now=now)


@dataclass
class JobRunner:
    """One per process: claims due jobs with a lease and runs the handler registered for their kind."""

    db: Database
    clock: Clock
    lease: timedelta = timedelta(seconds=60)
    batch: int = 100
    concurrency: int = 8
    """Jobs run at once: about the read pool's size, so handlers reuse its connections."""
    poll_seconds: float = 1.0
    owner: str = field(default_factory=lambda: f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}")
    _kinds: dict[str, _Kind] = field(default_factory=dict)
    _task: asyncio.Task[None] | None = None
    _wake: asyncio.Event = field(default_factory=asyncio.Event)

    def register(self, kind: str, handler: Handler, *, max_attempts: int = 8) -> None:
        """Run `handler` for jobs of `kind`; give up after `max_attempts` failed attempts."""
        self._add(kind, _Kind(handler, None, max_attempts))

    def register_batch(self, kind: str, handler: BatchHandler, *, max_attempts: int = 8) -> None:
        """Run `handler` once for all the jobs of `kind` claimed together (it loads their facts in
        bulk); it answers each job's outcome by id: None (done), a Reschedule, or the Exception
        that failed it (retried alone). A job it leaves out counts as failed."""
        self._add(kind, _Kind(None, handler, max_attempts))

    def _add(self, kind: str, entry: _Kind) -> None:
        if kind in self._kinds:
            raise ValueError(f"a handler for job kind {kind!r} is already registered")
        self._kinds[kind] = entry

    async def claim(self, limit: int | None = None) -> list[Job]:
        """Lease due jobs to this runner (public so tests can simulate a runner that dies holding them)."""
        now = self.clock.now()
        async with self.db.write() as conn:
            rows = await store.claim(
                conn, owner=self.owner, now=now, lease_until=now + self.lease, limit=limit or self.batch
            )
        return [Job(r.id, r.kind, r.key, orjson.loads(r.payload), r.attempts, r.run_at) for r in rows]

    async def run_due(self) -> int:
        """Run every job due now (and any a handler reschedules as due now); how many runs were made."""
        runs = 0
        while True:
            claimed = await self.claim()
            if not claimed:
                return runs
            await self._run_all(claimed)
            runs += len(claimed)

    async def _run_all(self, claimed: list[Job]) -> None:
        """Run a claimed batch (single-job handlers concurrently, batch handlers once per kind), then
        settle every job in one transaction."""
        limit = asyncio.Semaphore(self.concurrency)
        outcomes: dict[int, Outcome] = {}
        batches: dict[str, list[Job]] = {}
        singles: list[Job] = []
        for job in claimed:
            kind = self._kinds.get(job.kind)
            if kind is None:
                outcomes[job.id] = LookupError(f"no handler for job kind {job.kind!r} in this process")
            elif job.attempts > kind.max_attempts:
                # Reclaimed after its runners kept dying mid-run: a poison job.
                outcomes[job.id] = RuntimeError(f"lease expired {job.attempts - 1} times")
            elif kind.batch is not None:
                batches.setdefault(job.kind, []).append(job)
            else:
                singles.append(job)

        async def one(job: Job) -> None:
            handler = self._kinds[job.kind].handler
            assert handler is not None
            async with limit:
                try:
                    outcomes[job.id] = await handler(job)
                except Exception as exc:
                    outcomes[job.id] = exc

        async def many(kind: str, jobs: list[Job]) -> None:
            handler = self._kinds[kind].batch
            assert handler is not None
            try:
                answered = await handler(jobs)
            except Exception as exc:
                answered = {job.id: exc for job in jobs}
            for job in jobs:
                outcomes[job.id] = answered.get(job.id, RuntimeError("the batch handler gave no outcome"))

        await asyncio.gather(*(one(job) for job in singles), *(many(k, jobs) for k, jobs in batches.items()))
        await self._settle(claimed, outcomes)

    async def _settle(self, claimed: list[Job], outcomes: Mapping[int, Outcome]) -> None:
        now = self.clock.now()
        done = [job.id for job in claimed if outcomes[job.id] is None]
        lost: list[Job] = []
        async with self.db.write() as conn:
            if done:
                settled = await store.finish_many(conn, job_ids=done, owner=self.owner)
                if settled != len(done):
                    log.warning("%d finished jobs had lost their lease to another runner", len(done) - settled)
            for job in claimed:
                outcome = outcomes[job.id]
                if isinstance(outcome, Reschedule):
                    if not await store.postpone(
                        conn,
                        job_id=job.id,
                        owner=self.owner,
                        run_at=now + outcome.delay,
                        payload=orjson.dumps(dict(outcome.payload)).decode(),
                        reset_attempts=True,
                    ):
                        lost.append(job)
                elif isinstance(outcome, Exception):
                    await self._failed(conn, job, self._kinds.get(job.kind), outcome, now)
        for job in lost:
            log.warning("job %s (%s) finished after its lease passed to another runner", job.id, job.kind)

    async def _failed(self, conn: AsyncConnection, job: Job, kind: _Kind | None, exc: Exception, now: datetime) -> None:
        error = f"{type(exc).__name__}: {exc}"[:2000]
        max_attempts = kind.max_attempts if kind else 8
        if job.attempts >= max_attempts:
            await store.fail(conn, job_id=job.id, owner=self.owner, error=error)
            log.error(
                "job %s (%s, key %s) gave up after %d attempts: %s", job.id, job.kind, job.key, job.attempts, error
            )
        else:
            run_at = now + backoff(job.attempts)
            await store.postpone(conn, job_id=job.id, owner=self.owner, run_at=run_at, error=error)
            log.warning(
                "job %s (%s) attempt %d failed, retrying at %s: %s", job.id, job.kind, job.attempts, run_at, error
            )

    async def wake(self) -> None:
        """Look for due jobs now rather than at the next poll (e.g. after a commit that enqueued one)."""
        self._wake.set()

    def start(self) -> None:
        """Start the background loop (once per process)."""
        if self._task is None:
            self._task = asyncio.create_task(self._loop(), name="rapport-jobs")

    async def stop(self) -> None:
        """Stop the loop; jobs it was running are reclaimed by any runner once their lease expires."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def next_due(self) -> datetime | None:
        """When the earliest job becomes due, read without a write transaction."""
        return await store.next_due(self.db)

    async def _loop(self) -> None:
        # Idle, each poll is one read of the earliest due time (an index lookup); the write
        # transaction of a claim is only taken when something is due. The wait is the poll
        # interval, or less when a job falls due sooner; a wake (a local enqueue) cuts it short.
        while True:
            wait = self.poll_seconds
            try:
                due_at = await self.next_due()
                if due_at is not None:
                    ahead = (due_at - self.clock.now()).total_seconds()
                    if ahead <= 0:
                        claimed = await self.claim()
                        if claimed:
                            await self._run_all(claimed)
                            if len(claimed) >= self.batch:
                                continue
                    else:
                        wait = min(wait, ahead)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("the job runner could not claim or settle jobs; trying again shortly")
            if not self._wake.is_set():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), wait)
            self._wake.clear()
