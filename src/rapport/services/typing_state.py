"""Per-process typing bookkeeping: the 10-second expiry timers (the rate limit is in rate_limits.py)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any


class TypingTracker:
    """Typing is live-only: nothing here is stored, and a restart forgets it harmlessly."""

    def __init__(self) -> None:
        self._timers: dict[tuple[int, int], asyncio.TimerHandle] = {}
        self._firing: set[asyncio.Task[None]] = set()

    def arm(
        self,
        key: tuple[int, int],
        delay: float,
        on_expiry: Callable[[], Coroutine[Any, Any, None]],
    ) -> None:
        """(Re)start the expiry timer of one member typing in one conversation."""
        self.disarm(key)
        loop = asyncio.get_running_loop()

        def fire() -> None:
            self._timers.pop(key, None)
            task = loop.create_task(on_expiry())
            self._firing.add(task)  # the loop keeps only a weak reference
            task.add_done_callback(self._firing.discard)

        self._timers[key] = loop.call_later(delay, fire)

    def disarm(self, key: tuple[int, int]) -> bool:
        handle = self._timers.pop(key, None)
        if handle is None:
            return False
        handle.cancel()
        return True

    def close(self) -> None:
        for handle in self._timers.values():
            handle.cancel()
        self._timers.clear()
