"""Events over plain HTTP, and the generated avatars."""

from __future__ import annotations

import hashlib
from html import escape

from fastapi import APIRouter, Query, Response

from rapport.api.deps import Ctx, CurrentMember
from rapport.api.responses import event_page
from rapport.api.schemas import EventsRead, Text
from rapport.services import events

router = APIRouter(tags=["events"])


@router.get("/api/v1/events", response_model=EventsRead)
async def list_events(
    ctx: Ctx,
    viewer: CurrentMember,
    since: int = Query(0, ge=0, le=2**62),
    timeout: float = Query(0, ge=0, le=30),
) -> Response:
    """Stored events after `since`; waits up to `timeout` seconds when there are none."""
    frames, next_seq = await events.fetch(ctx, viewer, since=since, timeout=timeout)
    return event_page(frames, next_seq)


_PALETTE = ("#0a66c2", "#057642", "#915907", "#b24020", "#5f4b8b", "#00796b", "#8c2f39", "#3b5b7b")


@router.get("/avatars/{handle}.svg", include_in_schema=False)
async def avatar(handle: Text, name: Text = Query("", max_length=100)) -> Response:
    """A default avatar: initials on a colour chosen by the handle. Reveals nothing private."""
    source = name or handle
    initials = "".join(part[0] for part in source.replace(".", " ").replace("_", " ").split()[:2]).upper() or "?"
    colour = _PALETTE[hashlib.sha256(handle.encode()).digest()[0] % len(_PALETTE)]
    svg = (
        '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 64 64" width="64" height="64">'
        f'<rect width="64" height="64" rx="32" fill="{colour}"/>'
        '<text x="32" y="41" font-family="system-ui,sans-serif" font-size="26" font-weight="600" '
        f'text-anchor="middle" fill="#fff">{escape(initials[:2])}</text></svg>'
    )
    return Response(svg, media_type="image/svg+xml", headers={"Cache-Control": "public, max-age=86400"})
