"""WebSocket keepalive for every socket of a process, from one timer.

uvicorn's own keepalive gives each socket two timers per ping (the next ping, the pong's
deadline), a random payload packed and framed by websockets, and an event-loop wake-up for
each: most of what an idle socket cost. Here one `Keepalive` per event loop walks the
sockets in turns, a few at each tick, spread over the interval. A socket's visit:

- it was pinged at its last visit and nothing came back since: the peer is gone, or no
  longer reads; it is closed (1011), as uvicorn did when a pong was late;
- a data frame came since its last visit: the peer is alive and the socket is not quiet, so
  it is not pinged this time;
- otherwise it is sent a ping: two prebuilt bytes written straight to the transport.

So a quiet socket is pinged every interval, and a peer that stops answering is closed one
interval after the first ping it leaves unanswered (RAPPORT_WS_PING_SECONDS; 0: no pings).
Anything received counts as an answer (a pong, or any frame): a pong needs no payload
matched and no timer cancelled.
"""

from __future__ import annotations

import asyncio
import weakref
from typing import Any

from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol

TICK_SECONDS = 0.5
"""How often the walk moves on. Each wake-up of an idle event loop costs about 60-80 µs of
CPU here (more than a ping's write and its pong's read): a tick pings a batch, then its pongs
come back close together. Short enough that a tick stays small with tens of thousands of
sockets held (50,000 at 20 s: 1,250 pings, a few ms)."""
PING = b"\x89\x00"
"""A ping frame with no payload (server frames are not masked): the same bytes every time."""

_keepalives: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[float, Keepalive]] = weakref.WeakKeyDictionary()


class Keepalive:
    """The sockets of one event loop with one ping interval, in `slots` visited in turn."""

    def __init__(self, loop: asyncio.AbstractEventLoop, interval: float) -> None:
        self.loop = loop
        self.interval = interval
        count = max(1, round(interval / TICK_SECONDS))
        self.tick = interval / count
        self.slots: list[set[KeepaliveProtocol]] = [set() for _ in range(count)]
        self.cursor = 0
        self.added = 0
        self.size = 0
        self.timer: asyncio.TimerHandle | None = None
        self.due = 0.0

    @classmethod
    def of(cls, loop: asyncio.AbstractEventLoop, interval: float) -> Keepalive:
        by_interval = _keepalives.setdefault(loop, {})
        found = by_interval.get(interval)
        if found is None:
            found = by_interval[interval] = cls(loop, interval)
        return found

    def add(self, sock: KeepaliveProtocol) -> None:
        # Round robin, not "a full interval after it opened": a burst of connections (a
        # restart's reconnections) is spread over the interval instead of pinged all at once.
        slot = self.added % len(self.slots)
        self.added += 1
        sock.slot = slot
        self.slots[slot].add(sock)
        self.size += 1
        if self.timer is None:
            self.due = self.loop.time() + self.tick
            self.timer = self.loop.call_at(self.due, self.visit)

    def discard(self, sock: KeepaliveProtocol) -> None:
        slot = self.slots[sock.slot]
        if sock in slot:
            slot.remove(sock)
            self.size -= 1
        if self.size == 0:
            self.retire()

    def retire(self) -> None:
        """No socket left: no timer, and out of the registry (it holds the loop, the key of a
        weak mapping: kept there, a closed loop would never be freed)."""
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        by_interval = _keepalives.get(self.loop)
        if by_interval is not None and by_interval.get(self.interval) is self:
            del by_interval[self.interval]

    def visit(self) -> None:
        """One tick: the sockets of the next slot, then the timer for the one after."""
        slot = self.slots[self.cursor]
        self.cursor = (self.cursor + 1) % len(self.slots)
        for sock in tuple(slot):
            sock.keepalive_visit()
        self.timer = None
        if self.size == 0:
            self.retire()
            return
        # From the schedule, not from now: a late tick does not push every later one back.
        self.due = max(self.due + self.tick, self.loop.time())
        self.timer = self.loop.call_at(self.due, self.visit)


class KeepaliveProtocol(WebSocketsSansIOProtocol):
    """uvicorn's websockets-sansio protocol with the process-wide keepalive above."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.keepalive: Keepalive | None = None
        self.slot = 0
        self.heard = False  # anything received since the last visit
        self.active = False  # a data frame received since the last visit
        self.pinged = False  # pinged at the last visit

    def data_received(self, data: bytes) -> None:
        self.heard = True
        super().data_received(data)

    def send_receive_event_to_app(self) -> None:
        self.active = True
        super().send_receive_event_to_app()

    def handle_pong(self, event: Any) -> None:
        """Nothing to match: `data_received` has already counted it as an answer."""

    def start_keepalive(self) -> None:
        if self.ping_interval is not None and self.ping_interval > 0:
            self.keepalive = Keepalive.of(self.loop, self.ping_interval)
            self.keepalive.add(self)

    def stop_keepalive(self) -> None:
        if self.keepalive is not None:
            self.keepalive.discard(self)
            self.keepalive = None

    def keepalive_visit(self) -> None:
        """Ping it, close it, or leave it be (see the module)."""
        if self.close_sent or self.transport.is_closing():
            return
        if self.pinged and not self.heard:
            self.keepalive_timeout()  # uvicorn's: a 1011 close frame, then the transport closed
            return
        self.heard = self.pinged = False
        if self.active:
            self.active = False
            return
        self.pinged = True
        self.transport.write(PING)
