"""One write transaction, with its events: stored with the change, published after commit.

A rolled-back write must never have been announced, so frames reach the bus only once the
transaction has committed (Zulip's send_event_on_commit; Cosmic Python's collect_new_events).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping
from contextlib import AbstractAsyncContextManager
from types import TracebackType
from typing import Any

import orjson
from sqlalchemy.ext.asyncio import AsyncConnection

from rapport.bus import Batch
from rapport.domain.events import EventType
from rapport.domain.model import MemberId
from rapport.services.context import Context
from rapport.store import events as event_log


def encode(type_: EventType, at: str, payload: Mapping[str, Any]) -> bytes:
    """An event object without its seq."""
    return orjson.dumps({"type": type_.value, "at": at, **payload})


class UnitOfWork:
    def __init__(self, ctx: Context, *, background: bool = False) -> None:
        """`background`: bulk work (a campaign's page) that lets members' own writes go first."""
        self.ctx = ctx
        self.background = background
        self.now = ctx.clock.now()
        self.at = self.now.isoformat().replace("+00:00", "Z")
        self._pending: list[event_log.PendingEvent] = []
        self._live: list[Batch] = []
        self._tx: AbstractAsyncContextManager[AsyncConnection] | None = None
        self.conn: AsyncConnection
        self.published: list[event_log.StoredEvent] = []
        self._after_commit: list[Callable[[], Awaitable[None]]] = []

    async def __aenter__(self) -> UnitOfWork:
        self._tx = self.ctx.db.write(background=self.background)
        self.conn = await self._tx.__aenter__()
        return self

    def emit(self, type_: EventType, recipients: Iterable[MemberId], payload: Mapping[str, Any]) -> None:
        """Record an event for each recipient; it is numbered and stored with this transaction."""
        body = encode(type_, self.at, payload)
        if type_.is_live_only:
            self._live.append(Batch(body, [(member_id, None) for member_id in recipients]))
            return
        for member_id in recipients:
            self._pending.append(event_log.PendingEvent(member_id, type_.value, body, self.now))

    def after_commit(self, action: Callable[[], Awaitable[None]]) -> None:
        """Run `action` once the transaction has committed (never after a rollback): e.g. remove files."""
        self._after_commit.append(action)

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        assert self._tx is not None
        ticket: int | None = None
        if exc_type is None:
            try:
                self.published = await event_log.append(self.conn, self._pending)
            except BaseException as error:
                await self._tx.__aexit__(type(error), error, error.__traceback__)
                raise
            if self.published:
                # Numbered under the write lock: take the same place in the publish order.
                ticket = self.ctx.bus.reserve()
        try:
            await self._tx.__aexit__(exc_type, exc, tb)
        except BaseException:
            if ticket is not None:
                await self.ctx.bus.publish_reserved(ticket, ())  # let later batches go
            raise
        if exc_type is None:
            batches = _batches(self.published) + self._live
            if ticket is not None:
                await self.ctx.bus.publish_reserved(ticket, batches)
            elif batches:
                await self.ctx.bus.publish_batches(batches)
            for action in self._after_commit:
                await action()


def _batches(stored: list[event_log.StoredEvent]) -> list[Batch]:
    """Consecutive events sharing a body (one `emit`) as one batch, in order: each member's
    events stay in seq order, as they were numbered in this order."""
    batches: list[Batch] = []
    body: bytes | None = None
    to: list[tuple[int, int | None]] = []
    for event in stored:
        if event.body is not body:
            if body is not None:
                batches.append(Batch(body, to))
            body, to = event.body, []
        to.append((event.member_id, event.seq))
    if body is not None:
        batches.append(Batch(body, to))
    return batches
