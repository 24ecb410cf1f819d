"""Keyed jobs this process stored and knows are still waiting.

Every message schedules its conversation's alert job, and while one waits the keyed insert
stores nothing: a busy conversation paid that statement on every message for nothing. A job
is deleted only after a runner has claimed it, and none is claimed before its `run_at`, so
a job this process stored is known to wait until shortly before then — whichever process
runs it. `MARGIN` covers clocks that differ between machines.

Only what this process itself stored is remembered, and only once its transaction has
committed (`UnitOfWork.after_commit`): a rolled-back insert is never taken for a waiting job.
"""

from __future__ import annotations

from datetime import datetime, timedelta


class WaitingJobs:
    MARGIN = timedelta(seconds=30)
    LIMIT = 10_000

    def __init__(self) -> None:
        self._run_at: dict[tuple[str, str], datetime] = {}

    def waiting(self, kind: str, key: str, now: datetime) -> bool:
        """True when a job of this kind and key surely still waits at `now`."""
        run_at = self._run_at.get((kind, key))
        return run_at is not None and now < run_at - self.MARGIN

    def remember(self, kind: str, key: str, run_at: datetime, now: datetime) -> None:
        """A job this process stored (committed) will wait until `run_at`."""
        if len(self._run_at) >= self.LIMIT:
            self._run_at = {k: t for k, t in self._run_at.items() if now < t - self.MARGIN}
            if len(self._run_at) >= self.LIMIT:
                self._run_at.clear()
        self._run_at[(kind, key)] = run_at
