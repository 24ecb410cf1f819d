"""Redis pub/sub: many server processes, on many machines, act as one.

Each process keeps one pub/sub connection and subscribes to the channel of every member
with a device connected to it. Redis pub/sub forgets what it could not deliver, so after
any loss of the connection the process reconnects with backoff, subscribes again and
tells every local subscriber to RESYNC from the stored log: clients miss nothing stored;
only live-only events (typing) sent during the outage are lost, as they may be.

A batch for many members (a message to a group chat) goes out as one message on a channel
every process hears, instead of one per member: one PUBLISH, and each process parses it
once and builds frames only for the members it holds sockets of. Small batches still go to
member channels, so a 1:1 message reaches only the processes that want it. One process
publishes in order, over one pipeline at a time, and one connection hears both kinds of
channel, so a member's frames keep their order.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import orjson
import redis.asyncio as aioredis
from redis.exceptions import RedisError

from rapport.bus.base import RESET, Batch, Bus

log = logging.getLogger(__name__)


FANOUT = 8
"""Recipients from which a batch travels as one message on the shared channel."""


def pack(batch: Batch) -> bytes:
    """A batch as one message: its recipients as JSON, a newline, the body (JSON has no raw newline)."""
    return orjson.dumps(batch.to) + b"\n" + batch.body


def unpack(data: bytes) -> Batch:
    head, _, body = data.partition(b"\n")
    return Batch(body, [(int(member_id), seq) for member_id, seq in orjson.loads(head)])


class RedisBus(Bus):
    """`namespace` separates networks sharing one Redis: channels are `{namespace}:member:{id}`."""

    def __init__(self, url: str, *, namespace: str = "rapport", max_backoff: float = 5.0) -> None:
        super().__init__()
        self.url = url
        self.prefix = f"{namespace}:member:"
        self.heartbeat = f"{namespace}:heartbeat"
        self.control = f"{namespace}:control"
        self.batches = f"{namespace}:batch"
        self.max_backoff = max_backoff
        self._publisher: aioredis.Redis | None = None
        self._pubsub: Any = None
        self._listener: asyncio.Task[None] | None = None
        self._connected = asyncio.Event()
        self._lock = asyncio.Lock()
        self._publishing = asyncio.Lock()
        self._outbox: list[tuple[str, bytes]] = []

    def channel(self, member_id: int) -> str:
        return f"{self.prefix}{member_id}"

    async def start(self) -> None:
        self._publisher = aioredis.from_url(self.url, socket_connect_timeout=2)
        self._listener = asyncio.create_task(self._listen(), name="rapport-redis-bus")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._connected.wait(), timeout=5)

    async def close(self) -> None:
        if self._listener is not None:
            self._listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._listener
        if self._pubsub is not None:
            with contextlib.suppress(Exception):
                await self._pubsub.aclose()
        if self._publisher is not None:
            await self._publisher.aclose()

    async def publish(self, items: Iterable[tuple[int, bytes]]) -> None:
        await self._send([(self.channel(member_id), frame) for member_id, frame in items])

    async def publish_batches(self, batches: Sequence[Batch]) -> None:
        messages: list[tuple[str, bytes]] = []
        for batch in batches:
            if len(batch.to) >= FANOUT:
                messages.append((self.batches, pack(batch)))
            else:
                messages.extend((self.channel(member_id), frame) for member_id, frame in batch.frames())
        await self._send(messages)

    async def _send(self, messages: list[tuple[str, bytes]]) -> None:
        """Messages leave in the order of the calls: calls made while a pipeline is out join
        the next one (one round trip for them all, instead of racing on pooled connections)."""
        if not messages or self._publisher is None:
            return
        self._outbox.extend(messages)
        async with self._publishing:  # FIFO: the first caller to get it sends what is queued
            if not self._outbox:
                return  # an earlier caller sent these with its own
            queued, self._outbox = self._outbox, []
            try:
                async with self._publisher.pipeline(transaction=False) as pipe:
                    for channel, data in queued:
                        pipe.publish(channel, data)
                    await pipe.execute()
            except (RedisError, OSError) as exc:
                # Stored events are safe in the log; subscribers elsewhere resync on reconnect.
                log.warning("redis publish failed (%s); %d messages left to the log", exc, len(queued))

    async def publish_control(self, message: Mapping[str, Any]) -> None:
        """Published to every process's listener, this one's included (it hears its own channel)."""
        if self._publisher is None:
            return
        try:
            await self._publisher.publish(self.control, orjson.dumps(message))
        except (RedisError, OSError) as exc:
            # Other processes reset their caches when their connection comes back; a cache
            # entry lives only a short while in any case.
            log.warning("redis control publish failed (%s)", exc)

    def _deliver_batch(self, data: bytes) -> None:
        try:
            batch = unpack(data)
        except (orjson.JSONDecodeError, TypeError, ValueError):
            log.warning("dropping a batch that is not one")
            return
        self.hub.deliver_batch(batch)

    async def _on_first_subscription(self, member_id: int) -> None:
        async with self._lock:
            if self._pubsub is not None and self._connected.is_set():
                try:
                    await self._pubsub.subscribe(self.channel(member_id))
                except (RedisError, OSError):
                    log.warning("redis subscribe failed; will resubscribe on reconnect")

    async def _on_last_unsubscription(self, member_id: int) -> None:
        async with self._lock:
            if self._pubsub is not None and self._connected.is_set():
                with contextlib.suppress(RedisError, OSError):
                    await self._pubsub.unsubscribe(self.channel(member_id))

    async def _listen(self) -> None:
        backoff = 0.1
        first = True
        while True:
            try:
                async with self._lock:
                    client = aioredis.from_url(self.url, socket_connect_timeout=2)
                    self._pubsub = client.pubsub(ignore_subscribe_messages=True)
                    # A heartbeat channel keeps the connection subscribed with no device.
                    await self._pubsub.subscribe(
                        self.heartbeat, self.control, self.batches, *(self.channel(m) for m in self.hub.members)
                    )
                    self._connected.set()
                if not first:
                    log.info("redis bus reconnected; local subscribers resync from the log")
                    self.hub.resync_all()
                    self._dispatch_control(orjson.dumps(RESET))
                first = False
                backoff = 0.1
                async for message in self._pubsub.listen():
                    if message.get("type") != "message":
                        continue
                    name = message["channel"]
                    name = name.decode() if isinstance(name, bytes) else name
                    if name.startswith(self.prefix):
                        self.hub.deliver(int(name[len(self.prefix) :]), message["data"])
                    elif name == self.batches:
                        self._deliver_batch(message["data"])
                    elif name == self.control:
                        self._dispatch_control(message["data"])
                raise ConnectionError("redis pub/sub stream ended")
            except asyncio.CancelledError:
                raise
            except (RedisError, OSError, ConnectionError) as exc:
                self._connected.clear()
                log.warning("redis bus lost (%s); retrying in %.1fs", exc, backoff)
                with contextlib.suppress(Exception):
                    if self._pubsub is not None:
                        await self._pubsub.aclose()
                await asyncio.sleep(backoff)
                backoff = min(self.max_backoff, backoff * 2)
