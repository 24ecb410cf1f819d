"""The in-process bus: for one server process, and for tests."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import orjson

from rapport.bus.base import Batch, Bus


class MemoryBus(Bus):
    """Delivers within this process. Every frame (every batch's body) is decoded once on the
    way, so one that Redis subscribers could not parse fails here too."""

    async def publish(self, items: Iterable[tuple[int, bytes]]) -> None:
        for member_id, frame in items:
            orjson.loads(frame)
            self.hub.deliver(member_id, bytes(frame))

    async def publish_batches(self, batches: Sequence[Batch]) -> None:
        for batch in batches:
            orjson.loads(batch.body)  # once for all its members: their frames differ in seq alone
            self.hub.deliver_batch(batch)

    async def publish_control(self, message: Mapping[str, Any]) -> None:
        self._dispatch_control(orjson.dumps(message))
