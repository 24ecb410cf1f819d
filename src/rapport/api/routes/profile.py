"""The signed-in member's profile picture, and the public, versioned picture files."""

from __future__ import annotations

from fastapi import APIRouter, Response

from rapport.api.deps import Ctx, CurrentMember
from rapport.api.responses import Json
from rapport.api.routes import parse_id
from rapport.api.schemas import AvatarUpdate, MemberOnly
from rapport.services import avatars
from rapport.services.shapes import member_json

router = APIRouter(tags=["accounts"])


@router.put("/api/v1/me/avatar", response_model=MemberOnly)
async def set_avatar(body: AvatarUpdate, ctx: Ctx, viewer: CurrentMember) -> Json:
    """Upload the image with POST /attachments first, then name it here; it is cropped to its centre square."""
    member = await avatars.set_avatar(ctx, viewer, attachment_id=parse_id(body.attachment_id, "attachment"))
    return Json({"member": member_json(member)})


@router.delete("/api/v1/me/avatar", response_model=MemberOnly)
async def remove_avatar(ctx: Ctx, viewer: CurrentMember) -> Json:
    member = await avatars.remove_avatar(ctx, viewer)
    return Json({"member": member_json(member)})


@router.get("/avatars/img/{member_id}/{version}.png", include_in_schema=False)
async def avatar_image(member_id: str, version: str, ctx: Ctx) -> Response:
    """Public like every avatar; the URL changes with the picture, so it may be cached for good."""
    data = await avatars.image(ctx, member_id=parse_id(member_id, "member"), version=version[:16])
    return Response(
        data,
        media_type="image/png",
        headers={"Cache-Control": "public, max-age=31536000, immutable", "X-Content-Type-Options": "nosniff"},
    )
