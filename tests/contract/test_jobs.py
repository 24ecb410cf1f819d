"""The job runner on each store: enqueue in a transaction, run once, retry, give up, resume, reclaim."""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from datetime import timedelta

import pytest

from rapport import jobs
from rapport.clock import FakeClock
from rapport.store import jobs as job_rows
from rapport.store.dialect import Database


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def runner(db: Database, clock: FakeClock, **options: object) -> jobs.JobRunner:
    return jobs.JobRunner(db, clock, **options)  # type: ignore[arg-type]


async def enqueue(
    db: Database, clock: FakeClock, kind: str, key: str | None, delay: float = 0, **payload: object
) -> bool:
    async with db.write() as conn:
        return await jobs.enqueue(
            conn, kind=kind, key=key, payload=payload, run_at=clock.now() + timedelta(seconds=delay), now=clock.now()
        )


async def test_a_job_runs_once_when_due_and_its_row_is_gone(db: Database, clock: FakeClock) -> None:
    seen: list[dict[str, object]] = []

    async def handle(job: jobs.Job) -> None:
        seen.append(job.payload)

    r = runner(db, clock)
    r.register("greet", handle)
    assert await enqueue(db, clock, "greet", "k1", delay=60, name="ada")
    assert await r.run_due() == 0
    clock.advance(timedelta(seconds=60))
    assert await r.run_due() == 1
    assert seen == [{"name": "ada"}]
    assert await r.run_due() == 0
    async with db.read() as conn:
        assert await job_rows.count(conn) == 0


async def test_enqueueing_a_waiting_key_again_is_a_no_op_and_a_finished_key_is_free(
    db: Database, clock: FakeClock
) -> None:
    runs: Counter[str] = Counter()

    async def handle(job: jobs.Job) -> None:
        runs[str(job.payload["n"])] += 1

    r = runner(db, clock)
    r.register("digest", handle)
    assert await enqueue(db, clock, "digest", "m1:c1", n=1)
    assert not await enqueue(db, clock, "digest", "m1:c1", n=2)
    assert await enqueue(db, clock, "other", "m1:c1", n=3)  # keys are per kind
    assert await enqueue(db, clock, "digest", None, n=4)
    assert await enqueue(db, clock, "digest", None, n=5)  # no key: no de-duplication
    r.register("other", handle)
    await r.run_due()
    assert runs == Counter({"1": 1, "3": 1, "4": 1, "5": 1})
    assert await enqueue(db, clock, "digest", "m1:c1", n=6)


async def test_a_job_enqueued_in_a_rolled_back_transaction_never_exists(db: Database, clock: FakeClock) -> None:
    with pytest.raises(RuntimeError):
        async with db.write() as conn:
            await jobs.enqueue(conn, kind="greet", key="x", run_at=clock.now())
            raise RuntimeError("the write that caused it failed")
    async with db.read() as conn:
        assert await job_rows.count(conn) == 0


async def test_a_failing_job_is_retried_with_backoff_then_gives_up_with_a_log_line(
    db: Database, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    attempts: list[int] = []

    async def flaky(job: jobs.Job) -> None:
        attempts.append(job.attempts)
        raise ConnectionError("smtp down")

    r = runner(db, clock)
    r.register("flaky", flaky, max_attempts=3)
    await enqueue(db, clock, "flaky", "f")
    await r.run_due()
    assert attempts == [1]
    clock.advance(jobs.backoff(1) - timedelta(seconds=1))
    await r.run_due()
    assert attempts == [1]  # not yet due
    clock.advance(timedelta(seconds=1))
    await r.run_due()
    clock.advance(jobs.backoff(2))
    with caplog.at_level(logging.ERROR, logger="rapport.jobs.runner"):
        await r.run_due()
    assert attempts == [1, 2, 3]
    assert "gave up after 3 attempts" in caplog.text
    clock.advance(timedelta(days=1))
    assert await r.run_due() == 0
    async with db.read() as conn:
        assert await job_rows.count(conn, state="failed") == 1
    assert await enqueue(db, clock, "flaky", "f")  # the failed job no longer holds its key


def test_backoff_doubles_from_five_seconds_up_to_an_hour() -> None:
    assert [jobs.backoff(n).total_seconds() for n in (1, 2, 3, 4)] == [5, 10, 20, 40]
    assert jobs.backoff(30) == timedelta(hours=1)


async def test_a_long_job_saves_its_cursor_and_resumes_after_a_crash(db: Database, clock: FakeClock) -> None:
    """A delivery to many recipients works in slices; a runner dying mid-slice loses only that slice."""
    delivered: list[int] = []
    crash_at = {7}

    async def deliver(job: jobs.Job) -> jobs.Reschedule | None:
        cursor = int(job.payload["cursor"])
        for n in range(cursor, min(cursor + 3, 10)):
            if n in crash_at:
                crash_at.clear()
                raise asyncio.CancelledError  # the process dies: nothing is settled
            delivered.append(n)
        if cursor + 3 >= 10:
            return None
        return jobs.Reschedule(payload={"cursor": cursor + 3})

    first = runner(db, clock, lease=timedelta(seconds=30))
    first.register("deliver", deliver)
    await enqueue(db, clock, "deliver", "campaign:1", cursor=0)
    with pytest.raises(asyncio.CancelledError):
        await first.run_due()
    assert delivered == [0, 1, 2, 3, 4, 5, 6]

    second = runner(db, clock, lease=timedelta(seconds=30))
    second.register("deliver", deliver)
    assert await second.run_due() == 0  # the dead runner's lease still holds
    clock.advance(timedelta(seconds=31))
    await second.run_due()
    # The slice 6..8 runs again from its saved cursor (6), then the rest.
    assert delivered == [0, 1, 2, 3, 4, 5, 6, 6, 7, 8, 9]
    async with db.read() as conn:
        assert await job_rows.count(conn) == 0


async def test_an_expired_lease_passes_the_job_to_another_runner_and_the_first_cannot_settle_it(
    db: Database, clock: FakeClock
) -> None:
    runs: list[str] = []

    async def handle(job: jobs.Job) -> None:
        runs.append(job.kind)

    stalled = runner(db, clock, lease=timedelta(seconds=60))
    stalled.register("work", handle)
    await enqueue(db, clock, "work", "w")
    held = await stalled.claim()
    assert [j.key for j in held] == ["w"]

    other = runner(db, clock)
    other.register("work", handle)
    assert await other.run_due() == 0
    clock.advance(timedelta(seconds=61))
    assert await other.run_due() == 1
    assert runs == ["work"]
    async with db.write() as conn:  # the stalled runner wakes up: its lease is gone
        assert not await job_rows.finish(conn, job_id=held[0].id, owner=stalled.owner)


async def test_a_job_whose_runners_keep_dying_gives_up(db: Database, clock: FakeClock) -> None:
    async def handle(job: jobs.Job) -> None:
        raise AssertionError("never reached")

    for _ in range(2):
        dying = runner(db, clock, lease=timedelta(seconds=10))
        await enqueue(db, clock, "poison", "p")
        await dying.claim()
        clock.advance(timedelta(seconds=11))
    last = runner(db, clock)
    last.register("poison", handle, max_attempts=2)
    await last.run_due()
    async with db.read() as conn:
        assert await job_rows.count(conn, state="failed") == 1


async def test_two_runners_racing_run_each_job_exactly_once(database_url: str, clock: FakeClock) -> None:
    """Two processes' runners (separate engines) claim from the same table at once."""
    dbs = [Database(database_url, sqlite_synchronous="NORMAL") for _ in range(2)]
    try:
        runs: Counter[int] = Counter()
        by_runner: Counter[str] = Counter()

        def handler(name: str) -> jobs.Handler:
            async def handle(job: jobs.Job) -> None:
                runs[int(job.payload["n"])] += 1
                by_runner[name] += 1
                await asyncio.sleep(0)

            return handle

        runners = [runner(db, clock, batch=7, concurrency=4) for db in dbs]
        for i, r in enumerate(runners):
            r.register("race", handler(f"r{i}"))
        async with dbs[0].write() as conn:
            for n in range(200):
                await jobs.enqueue(conn, kind="race", key=str(n), payload={"n": n}, run_at=clock.now())
        await asyncio.gather(*(r.run_due() for r in runners))
        assert runs == Counter(range(200))
        assert sum(by_runner.values()) == 200
        async with dbs[0].read() as conn:
            assert await job_rows.count(conn) == 0
    finally:
        for db in dbs:
            await db.dispose()


async def test_the_background_loop_runs_a_job_soon_after_a_wake(db: Database) -> None:
    from rapport.clock import SystemClock

    done = asyncio.Event()

    async def handle(job: jobs.Job) -> None:
        done.set()

    clock = SystemClock()
    r = jobs.JobRunner(db, clock, poll_seconds=30)
    r.register("bg", handle)
    r.start()
    try:
        async with db.write() as conn:
            await jobs.enqueue(conn, kind="bg", run_at=clock.now())
        await r.wake()
        await asyncio.wait_for(done.wait(), 10)
    finally:
        await r.stop()


async def test_an_idle_runner_reads_when_the_next_job_falls_due(db: Database, clock: FakeClock) -> None:
    """Idle polls read the earliest due time (pending run_at, or an expired lease's end) instead
    of claiming in a write transaction."""
    r = runner(db, clock)
    assert await r.next_due() is None
    async with db.write() as conn:
        await jobs.enqueue(conn, kind="a", run_at=clock.now() + timedelta(minutes=5))
        await jobs.enqueue(conn, kind="b", run_at=clock.now() + timedelta(minutes=1))
    assert await r.next_due() == clock.now() + timedelta(minutes=1)
    clock.advance(timedelta(minutes=1))
    [claimed] = await r.claim()
    assert claimed.kind == "b"
    # The claimed job's lease (60 s) ends before the other job's run_at.
    assert await r.next_due() == clock.now() + r.lease


async def test_the_background_loop_sleeps_only_until_the_next_job_is_due(db: Database) -> None:
    from rapport.clock import SystemClock

    done = asyncio.Event()

    async def handle(job: jobs.Job) -> None:
        done.set()

    clock = SystemClock()
    r = jobs.JobRunner(db, clock, poll_seconds=0.2)
    r.register("soon", handle)
    r.start()
    try:
        await asyncio.sleep(0.5)  # idle polls first: the job does not exist yet
        async with db.write() as conn:
            await jobs.enqueue(conn, kind="soon", run_at=clock.now() + timedelta(seconds=0.3))
        await asyncio.wait_for(done.wait(), 10)  # no wake: found by a poll, run when due
    finally:
        await r.stop()


async def test_a_batch_handler_gets_the_jobs_claimed_together_and_answers_each(db: Database, clock: FakeClock) -> None:
    calls: list[list[int]] = []
    tries: Counter[int] = Counter()

    async def deliver(batch: list[jobs.Job]) -> dict[int, jobs.Outcome]:
        calls.append(sorted(int(j.payload["n"]) for j in batch))
        out: dict[int, jobs.Outcome] = {}
        for job in batch:
            n = int(job.payload["n"])
            tries[n] += 1
            if n == 3 and tries[n] == 1:
                out[job.id] = ConnectionError("smtp busy")  # only this one is retried
            elif n == 4 and tries[n] == 1:
                out[job.id] = jobs.Reschedule(payload={"n": 4}, delay=timedelta(seconds=30))
            elif n != 5:
                out[job.id] = None
            # n == 5: left out, which counts as a failure
        return out

    r = runner(db, clock)
    r.register_batch("mail", deliver, max_attempts=1)
    async with db.write() as conn:
        await jobs.enqueue_many(
            conn, kind="mail", payloads=[{"n": n} for n in range(6)], run_at=clock.now(), now=clock.now()
        )
    await r.run_due()
    assert calls == [[0, 1, 2, 3, 4, 5]]
    clock.advance(timedelta(seconds=30))
    await r.run_due()
    assert tries == Counter({0: 1, 1: 1, 2: 1, 3: 1, 4: 2, 5: 1})  # 3 and 5 gave up (max_attempts=1)
    async with db.read() as conn:
        assert await job_rows.count(conn, state="failed") == 2
        assert await job_rows.count(conn, state="pending") == 0
