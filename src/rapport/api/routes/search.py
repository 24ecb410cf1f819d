"""Full-text search of one's own history."""

from __future__ import annotations

from fastapi import APIRouter, Query

from rapport.api.deps import Ctx, CurrentMember
from rapport.api.responses import Json
from rapport.api.routes import parse_id
from rapport.api.schemas import Text
from rapport.services import search as service

router = APIRouter(prefix="/api/v1/search", tags=["search"])


@router.get("")
async def search(
    ctx: Ctx,
    viewer: CurrentMember,
    q: Text = Query("", max_length=10_000),
    limit: int = Query(20, ge=1, le=100),
    conversation_id: Text | None = Query(None, max_length=30),
    with_: Text | None = Query(None, alias="with", max_length=100),
) -> Json:
    """`{results: [{conversation_id, message, snippet, match}]}`, best first; `snippet` is HTML with <mark>."""
    results = await service.search(
        ctx,
        viewer,
        q=q,
        limit=limit,
        conversation_id=parse_id(conversation_id, "conversation") if conversation_id is not None else None,
        with_handle=with_,
    )
    return Json({"results": results})
