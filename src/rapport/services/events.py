"""Reading a member's event log: since a sequence number, waiting briefly when there is none."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from dataclasses import dataclass

import orjson

from rapport.bus import RESYNC
from rapport.domain.errors import Invalid
from rapport.domain.events import EventType
from rapport.domain.model import Member, MemberId
from rapport.services import receipts
from rapport.services.context import Context
from rapport.store import events as event_log

PAGE = 500
MAX_WAIT = 30.0


@dataclass(frozen=True)
class EventPage:
    """A page of a member's log: the events they may see now, and how far it was read.

    `last_seq` counts the events left out too (receipts hidden now), so that a reader moves
    past them instead of asking for them again."""

    rows: list[tuple[int, str, bytes]]
    last_seq: int
    more: bool


async def read_since(ctx: Context, member_id: MemberId, since: int, limit: int = PAGE) -> EventPage:
    async with ctx.db.read() as conn:
        rows = await event_log.list_since(conn, member_id=member_id, since=since, limit=limit)
        hidden = await receipts.hidden_receipts(ctx, conn, member_id, rows) if rows else set()
    shown = [r for r in rows if r[0] not in hidden] if hidden else rows
    return EventPage(shown, rows[-1][0] if rows else since, len(rows) >= limit)


async def fetch(ctx: Context, viewer: Member, *, since: int, timeout: float) -> tuple[list[bytes], int]:
    """Events after `since`, oldest first, and the seq to ask from next (long-poll)."""
    if since < 0:
        raise Invalid("since is a sequence number, 0 or more.", code="invalid_since")
    if not 0 <= timeout <= MAX_WAIT:
        raise Invalid("timeout is between 0 and 30 seconds.", code="invalid_timeout")
    page = await read_since(ctx, viewer.id, since)
    if page.last_seq == since and timeout > 0:
        async with ctx.bus.subscribe(viewer.id) as sub:
            page = await read_since(ctx, viewer.id, since)  # subscribed first: nothing slips between
            if page.last_seq == since:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(timeout):
                        while True:
                            frame = await sub.get()
                            if frame == RESYNC or not frame.startswith(b'{"seq":null'):
                                break
                page = await read_since(ctx, viewer.id, since)
    frames = [f for _, _, f in page.rows]
    await note_delivery(ctx, viewer.id, [(t, f) for _, t, f in page.rows])
    return frames, page.last_seq


async def note_delivery(ctx: Context, member_id: MemberId, events: Sequence[tuple[str, bytes]]) -> None:
    """Messages from others in `events` reached a device of the member: mark them delivered."""
    up_to: dict[int, int] = {}
    for type_, frame in events:
        if type_ != EventType.MESSAGE_NEW.value:
            continue
        event = orjson.loads(frame)
        message = event["message"]
        sender = message.get("sender") or {}
        if sender.get("id") == str(member_id):
            continue
        conversation_id, message_id = int(event["conversation_id"]), int(message["id"])
        up_to[conversation_id] = max(up_to.get(conversation_id, 0), message_id)
    await receipts.mark_delivered(ctx, member_id, up_to)
