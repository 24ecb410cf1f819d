"""The bus interface, and the per-process hub that hands frames to local subscribers.

A frame is one encoded event, addressed to one member. Every bus delivers it to each
local subscription of that member (one per connected device). A bus that may have lost
frames (a broker outage, a subscriber too slow to keep up) delivers RESYNC instead, and
the subscriber catches up from the stored event log: the log, not the bus, is the truth.

A stored event usually goes to many members at once (a message to a group chat: one body,
51 numbers), so the bus also carries a `Batch`: the body once, with each member's seq. A
process builds a member's frame only when it holds a socket of that member.

Besides frames for members, a bus carries control messages for every process (a session
revoked, a member's cached facts to forget). A bus that may have lost some delivers
`{"type": "reset"}` to its control handlers instead, so they drop what they cached.
"""

from __future__ import annotations

import asyncio
import logging
from abc import ABC, abstractmethod
from collections import defaultdict, deque
from collections.abc import AsyncIterator, Callable, Iterable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, Final

import orjson

from rapport.domain.events import frame

log = logging.getLogger(__name__)

RESYNC: Final = b""
"""Sentinel frame: frames may have been lost; re-read the event log."""

QUEUE_LIMIT = 2_000
QUEUE_BYTES = 1024 * 1024
"""Bytes of frames a subscription holds for its reader by default; see Subscription.overflowed."""

ControlHandler = Callable[[dict[str, Any]], None]
RESET: Final = {"type": "reset"}
"""Control message a bus gives its handlers when control messages may have been lost."""


@dataclass(frozen=True, slots=True)
class Batch:
    """One encoded event (without its seq) for several members, each with its own seq
    (None: a live-only event)."""

    body: bytes
    to: Sequence[tuple[int, int | None]]

    def frames(self) -> list[tuple[int, bytes]]:
        """(member_id, frame) for each recipient."""
        return [(member_id, frame(seq, self.body)) for member_id, seq in self.to]


class Subscription:
    """One device's view of the bus: frames for one member, in publish order.

    Held by every open socket, so it is kept small: the frame deque exists only while
    frames wait (an empty deque still costs a 0.5 KB block), and a waiter only while
    someone awaits `get`. An asyncio.Queue would hold four deques per idle socket.
    """

    __slots__ = ("_bytes", "_frames", "_lagged", "_waiter", "byte_limit", "listener", "member_id", "overflowed")

    def __init__(self, member_id: int, byte_limit: int = QUEUE_BYTES) -> None:
        self.member_id = member_id
        self.byte_limit = byte_limit
        self._frames: deque[bytes] | None = None
        self._bytes = 0
        self._lagged = False
        self.overflowed = False
        """The reader fell more than `byte_limit` bytes (or QUEUE_LIMIT frames) behind: what
        was queued is dropped for a RESYNC. A socket closes then (its client resumes)."""
        self._waiter: asyncio.Future[None] | None = None
        self.listener: Callable[[], None] | None = None
        """Called after each delivery: lets a consumer wake only when there is a frame."""

    def deliver(self, frame: bytes) -> None:
        if self._lagged:
            return
        frames = self._frames
        if frames is None:
            frames = self._frames = deque()
        if len(frames) >= QUEUE_LIMIT or self._bytes + len(frame) > self.byte_limit:
            # Too slow to keep up: drop what is queued and make the reader resync.
            self._lagged = True
            self.overflowed = True
            frames.clear()
            self._bytes = 0
            frames.append(RESYNC)
        else:
            frames.append(frame)
            self._bytes += len(frame)
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)
        if self.listener is not None:
            self.listener()

    async def get(self) -> bytes:
        while (frame := self.get_nowait()) is None:
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        return frame

    def peek(self) -> bytes | None:
        """The frame `get_nowait` would return next, left in place."""
        frames = self._frames
        return frames[0] if frames else None

    def get_nowait(self) -> bytes | None:
        frames = self._frames
        if not frames:
            return None
        frame = frames.popleft()
        self._bytes -= len(frame)
        if not frames:
            self._frames = None
            self._bytes = 0
        if frame == RESYNC:
            self._lagged = False
        return frame


class LocalHub:
    """Subscriptions of this process, by member."""

    def __init__(self) -> None:
        self._subs: dict[int, set[Subscription]] = defaultdict(set)

    def add(self, sub: Subscription) -> bool:
        """Register; True when it is the member's first local subscription."""
        subs = self._subs[sub.member_id]
        subs.add(sub)
        return len(subs) == 1

    def remove(self, sub: Subscription) -> bool:
        """Unregister; True when the member has no local subscription left."""
        subs = self._subs.get(sub.member_id)
        if subs is None:
            return False
        subs.discard(sub)
        if not subs:
            del self._subs[sub.member_id]
            return True
        return False

    def deliver(self, member_id: int, frame: bytes) -> None:
        for sub in self._subs.get(member_id, ()):
            sub.deliver(frame)

    def deliver_batch(self, batch: Batch) -> None:
        """Each recipient with a local subscription gets its frame (built only for them)."""
        subs_of = self._subs
        for member_id, seq in batch.to:
            subs = subs_of.get(member_id)
            if subs:
                spliced = frame(seq, batch.body)
                for sub in subs:
                    sub.deliver(spliced)

    def resync_all(self) -> None:
        for subs in self._subs.values():
            for sub in subs:
                sub.deliver(RESYNC)

    @property
    def members(self) -> list[int]:
        return list(self._subs)

    def is_local(self, member_id: int) -> bool:
        return member_id in self._subs


class PublishOrder:
    """Batches leave in the order their events were numbered, though their writers finish
    in another order.

    Writers number events one at a time (SQLite's one writer; PostgreSQL's counter-row
    locks), but reach the bus after their commit in whatever order they wake: SQLite's
    group commit resumes the writer that committed the group before the ones it committed
    for. A socket given seq N+1 before N must read the log to fill the gap, and a message
    to a group chat did so on each of its 51 sockets. So a writer takes a ticket once its
    events are numbered and hands its batch over after commit (or an empty one after a
    rollback); a batch waits only for the batches with earlier tickets.
    """

    HOLD_LIMIT = 10_000
    """Batches held at most: past it (a ticket never handed back would be a bug) they go
    out anyway; sockets then fill any gap from the log, as for frames from other processes."""

    def __init__(self) -> None:
        self._taken = 0
        self._next = 1
        self._held: dict[int, list[Batch]] = {}

    def take(self) -> int:
        self._taken += 1
        return self._taken

    def ready(self, ticket: int, items: list[Batch]) -> list[Batch]:
        """Hand over `ticket`'s batch; returns what may be published now, in order."""
        self._held[ticket] = items
        if ticket != self._next and len(self._held) <= self.HOLD_LIMIT:
            return []
        if ticket != self._next:
            log.warning("%d event batches held for an earlier one: publishing out of order", len(self._held))
            self._next = min(self._held)
        due: list[Batch] = []
        while (batch := self._held.pop(self._next, None)) is not None:
            due.extend(batch)
            self._next += 1
        return due


class Bus(ABC):
    """Publish frames to members; subscribe to one member's frames."""

    def __init__(self) -> None:
        self.hub = LocalHub()
        self.order = PublishOrder()
        self._control_handlers: list[ControlHandler] = []

    def on_control(self, handler: ControlHandler) -> None:
        """Call `handler` with every control message published by any process (this one included)."""
        self._control_handlers.append(handler)

    @abstractmethod
    async def publish_control(self, message: Mapping[str, Any]) -> None:
        """Send a JSON-able message to the control handlers of every process."""

    def _dispatch_control(self, raw: bytes | str) -> None:
        try:
            message = orjson.loads(raw)
        except orjson.JSONDecodeError:
            log.warning("dropping a control message that is not JSON")
            return
        if not isinstance(message, dict):
            return
        for handler in self._control_handlers:
            try:
                handler(message)
            except Exception:
                log.exception("control handler failed on %r", message.get("type"))

    async def start(self) -> None:  # noqa: B027 - optional hook
        """Connect, if the bus has anything to connect to."""

    async def close(self) -> None:  # noqa: B027 - optional hook
        """Disconnect."""

    @abstractmethod
    async def publish(self, items: Iterable[tuple[int, bytes]]) -> None:
        """Send each (member_id, frame) to that member's subscriptions, in every process."""

    def reserve(self) -> int:
        """A place in the publish order, taken as soon as a batch's events are numbered."""
        return self.order.take()

    async def publish_batches(self, batches: Sequence[Batch]) -> None:
        """Send each batch's frames to its members' subscriptions, in every process, in order."""
        await self.publish(item for batch in batches for item in batch.frames())

    async def publish_reserved(self, ticket: int, batches: Iterable[Batch]) -> None:
        """Publish `batches` in `ticket`'s place (nothing, after a rollback): after every batch
        reserved earlier, which this call may publish too."""
        due = self.order.ready(ticket, list(batches))
        if due:
            await self.publish_batches(due)

    async def _on_first_subscription(self, member_id: int) -> None:  # noqa: B027
        """A backend hook: start listening for this member."""

    async def _on_last_unsubscription(self, member_id: int) -> None:  # noqa: B027
        """A backend hook: stop listening for this member."""

    @asynccontextmanager
    async def subscribe(self, member_id: int, *, byte_limit: int = QUEUE_BYTES) -> AsyncIterator[Subscription]:
        """Frames for `member_id` from now until the block ends."""
        sub = Subscription(member_id, byte_limit)
        if self.hub.add(sub):
            await self._on_first_subscription(member_id)
        try:
            yield sub
        finally:
            if self.hub.remove(sub):
                await self._on_last_unsubscription(member_id)
