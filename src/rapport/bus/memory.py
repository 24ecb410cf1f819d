"""The in-process bus: for one server process, and for tests."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import orjson

from rapport.bus.base import Bus


class MemoryBus(Bus):
    """Delivers within this process. Every frame is decoded once on the way, so a frame
    that Redis subscribers could not parse fails here too."""

    async def publish(self, items: Iterable[tuple[int, bytes]]) -> None:
        for member_id, frame in items:
            orjson.loads(frame)
            self.hub.deliver(member_id, bytes(frame))

    async def publish_control(self, message: Mapping[str, Any]) -> None:
        self._dispatch_control(orjson.dumps(message))
