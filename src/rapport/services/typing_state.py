"""Per-process typing bookkeeping: rate limits and the 10-second expiry timers."""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict, deque
from collections.abc import Callable, Coroutine
from typing import Any


class TypingTracker:
    """Typing is live-only: nothing here is stored, and a restart forgets it harmlessly."""

    def __init__(self, *, rate: int = 20, per_seconds: float = 10.0) -> None:
        self.rate = rate
        self.per_seconds = per_seconds
        self._recent: dict[int, deque[float]] = defaultdict(deque)
        self._timers: dict[tuple[int, int], asyncio.TimerHandle] = {}
        self._firing: set[asyncio.Task[None]] = set()

    def allow(self, member_id: int) -> float:
        """0 when allowed now, else the seconds to wait."""
        now = time.monotonic()
        window = self._recent[member_id]
        while window and now - window[0] > self.per_seconds:
            window.popleft()
        if len(self._recent) > 100_000:
            self._forget_idle(now)
        if len(window) >= self.rate:
            return self.per_seconds - (now - window[0])
        window.append(now)
        return 0.0

    def _forget_idle(self, now: float) -> None:
        """Drop members who have not typed within the window, so the map stays small."""
        for member_id in [m for m, w in self._recent.items() if not w or now - w[-1] > self.per_seconds]:
            del self._recent[member_id]

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
