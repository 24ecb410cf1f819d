"""Reading a member's event log: since a sequence number, waiting briefly when there is none."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence

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


async def read_since(ctx: Context, member_id: MemberId, since: int, limit: int = PAGE) -> list[tuple[int, str, bytes]]:
    async with ctx.db.read() as conn:
        return await event_log.list_since(conn, member_id=member_id, since=since, limit=limit)


async def fetch(ctx: Context, viewer: Member, *, since: int, timeout: float) -> tuple[list[bytes], int]:
    """Events after `since`, oldest first, and the seq to ask from next (long-poll)."""
    if since < 0:
        raise Invalid("since is a sequence number, 0 or more.", code="invalid_since")
    if not 0 <= timeout <= MAX_WAIT:
        raise Invalid("timeout is between 0 and 30 seconds.", code="invalid_timeout")
    rows = await read_since(ctx, viewer.id, since)
    if not rows and timeout > 0:
        async with ctx.bus.subscribe(viewer.id) as sub:
            rows = await read_since(ctx, viewer.id, since)  # subscribed first: nothing slips between
            if not rows:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(timeout):
                        while True:
                            frame = await sub.get()
                            if frame == RESYNC or not frame.startswith(b'{"seq":null'):
                                break
                rows = await read_since(ctx, viewer.id, since)
    frames = [f for _, _, f in rows]
    await note_delivery(ctx, viewer.id, [(t, f) for _, t, f in rows])
    return frames, rows[-1][0] if rows else since


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
