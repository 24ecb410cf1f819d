"""Durable background work: jobs are rows, claimed with a lease, run by one runner per process.

Why rows and not timers: a due e-mail or a campaign delivery must survive a restart and run
once, whichever of many `rapport serve` processes picks it up.

Interface
---------
Enqueue inside the unit of work whose write causes the job, so both commit or neither::

    from rapport import jobs

    async with UnitOfWork(ctx) as uow:
        ...  # the write
        await jobs.enqueue(uow.conn, kind="email_digest", key=f"{member_id}:{conversation_id}",
                           payload={"member_id": member_id}, run_at=uow.now + delay)

`key` makes enqueueing idempotent: while a job of that kind and key is waiting or running,
enqueueing it again is a no-op (`enqueue` returns False). A finished job's row is deleted,
so the key is free again; a job that gave up stays as `state='failed'` with its key cleared.

Handlers are registered per kind on the process's runner (`ctx.jobs`, built in the app
lifespan), before it starts::

    async def deliver(job: jobs.Job) -> jobs.Reschedule | None:
        ...                                            # do some work from job.payload
        if more_to_do:                                 # save progress, run again soon
            return jobs.Reschedule(payload={**job.payload, "cursor": last_id}, delay=timedelta(0))
        return None                                    # done: the row is deleted

    ctx.jobs.register("campaign_delivery", deliver, max_attempts=5)

Where per-job overhead matters (thousands of e-mails), `register_batch(kind, handler)`
hands all the jobs of a kind claimed together to one call, which answers an outcome per
job id; every claimed job is settled in one transaction either way.

A handler that raises is retried with exponential back-off (`backoff(attempt)`: 5 s, 10 s,
20 s, ... capped at one hour); after `max_attempts` attempts the job is marked failed and
a log line says so. A handler must be idempotent up to its last saved progress: a crash
between its side effect and the runner's settle re-runs it once its lease expires
(`lease`, default 60 s; a long job should work in slices and `Reschedule` between them,
each slice well inside the lease, so a 100k-recipient delivery resumes from its cursor).

Running: `JobRunner.start()` polls every `RAPPORT_JOBS_POLL_SECONDS` (and at once after
`wake()`), claims due jobs with a lease (`FOR UPDATE SKIP LOCKED` on PostgreSQL, a
conditional UPDATE under SQLite's single writer), runs them concurrently and settles each.
`RAPPORT_JOBS=off` keeps the loop from starting (tests drive it by hand); the test hook is
`await runner.run_due()`, which runs everything due now, on the runner's clock, until
nothing is due.
"""

from __future__ import annotations

from rapport.jobs.runner import (
    BatchHandler,
    Handler,
    Job,
    JobRunner,
    Outcome,
    Reschedule,
    backoff,
    enqueue,
    enqueue_many,
    enqueue_per_id,
)
from rapport.jobs.waiting import WaitingJobs

__all__ = [
    "BatchHandler",
    "Handler",
    "Job",
    "JobRunner",
    "Outcome",
    "Reschedule",
    "WaitingJobs",
    "backoff",
    "enqueue",
    "enqueue_many",
    "enqueue_per_id",
]
