"""Background upkeep: a failing run is logged and retried, and stopping ends the loop."""

from __future__ import annotations

import asyncio

import pytest

from rapport.services.periodic import every


async def test_a_failing_run_is_logged_and_the_next_one_still_happens(caplog: pytest.LogCaptureFixture) -> None:
    runs: list[int] = []
    second = asyncio.Event()

    async def job() -> None:
        runs.append(len(runs))
        if len(runs) == 1:
            raise RuntimeError("disk hiccup")
        second.set()

    stop = every(0.001, "test upkeep", job)
    await asyncio.wait_for(second.wait(), timeout=10)
    await stop()
    count = len(runs)
    await asyncio.sleep(0.01)
    assert len(runs) == count  # stopped: no run after stop()
    assert "test upkeep failed" in caplog.text
    assert "disk hiccup" in caplog.text
