"""Engagement insight and follow-ups: the signed-in member's own figures only."""

from __future__ import annotations

from fastapi import APIRouter, Query, Response

from rapport.api.deps import Ctx, CurrentMember
from rapport.api.responses import Json
from rapport.api.routes import parse_id
from rapport.domain.insight import WEEKS_DEFAULT, WEEKS_MAX
from rapport.services import insight

router = APIRouter(prefix="/api/v1/me", tags=["insight"])


@router.get("/insights")
async def insights(ctx: Ctx, viewer: CurrentMember, weeks: int = Query(WEEKS_DEFAULT, ge=1, le=WEEKS_MAX)) -> Json:
    """Sent, started, read and reply rates and medians; `weeks` buckets, oldest first."""
    return Json(insight.insight_json(await insight.insight(ctx, viewer, weeks=weeks)))


@router.get("/follow-ups")
async def follow_ups(ctx: Ctx, viewer: CurrentMember) -> Json:
    """Threads whose last message is the viewer's and unanswered long enough, with advice."""
    return Json({"follow_ups": await insight.follow_ups(ctx, viewer)})


@router.post("/follow-ups/{conversation_id}/dismiss", status_code=204)
async def dismiss(conversation_id: str, ctx: Ctx, viewer: CurrentMember) -> Response:
    """Hide one suggestion until that conversation's next message."""
    await insight.dismiss_follow_up(ctx, viewer, conversation_id=parse_id(conversation_id, "conversation"))
    return Response(status_code=204)
