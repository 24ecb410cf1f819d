"""Upkeep the server does by itself, in the background, for as long as it runs."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

log = logging.getLogger(__name__)

Stop = Callable[[], Awaitable[None]]


def every(interval: float, name: str, job: Callable[[], Awaitable[object]]) -> Stop:
    """Run `job` every `interval` seconds; returns the coroutine function that stops it.

    A failing run is logged and retried next time: upkeep must never stop the server.
    """

    async def loop() -> None:
        while True:
            await asyncio.sleep(interval)
            try:
                await job()
            except Exception:
                log.exception("%s failed", name)

    task = asyncio.create_task(loop(), name=name)

    async def stop() -> None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    return stop
