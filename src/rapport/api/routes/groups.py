"""Groups: find, create, join or request, requests, members, roles, leave."""

from __future__ import annotations

from fastapi import APIRouter, Query, Response

from rapport.api.deps import Ctx, CurrentMember
from rapport.api.responses import Json
from rapport.api.routes import parse_id
from rapport.api.schemas import GroupCreate, RoleUpdate, Text
from rapport.services import groups

router = APIRouter(prefix="/api/v1/groups", tags=["groups"])


@router.post("", status_code=201)
async def create_group(body: GroupCreate, ctx: Ctx, viewer: CurrentMember) -> Json:
    group = await groups.create_group(
        ctx, viewer, name=body.name, description=body.description, visibility=body.visibility
    )
    return Json({"group": group}, status_code=201)


@router.get("")
async def list_groups(
    ctx: Ctx, viewer: CurrentMember, mine: bool = False, q: Text | None = Query(None, max_length=100)
) -> Json:
    """Groups by name; `mine=true`: one's own (and pending requests); `q`: name contains."""
    return Json({"groups": await groups.list_groups(ctx, viewer, mine=mine, query=q)})


@router.get("/{group_id}")
async def get_group(group_id: Text, ctx: Ctx, viewer: CurrentMember) -> Json:
    return Json({"group": await groups.get_group(ctx, viewer, group_id=parse_id(group_id, "group"))})


@router.post("/{group_id}/join")
async def join_group(group_id: Text, ctx: Ctx, viewer: CurrentMember) -> Json:
    """`membership.state` is `member` (open group) or `requested`."""
    return Json(await groups.join_group(ctx, viewer, group_id=parse_id(group_id, "group")))


@router.post("/{group_id}/leave", status_code=204)
async def leave_group(group_id: Text, ctx: Ctx, viewer: CurrentMember) -> Response:
    """Leave, or withdraw a pending request; the last admin names another admin first (409 last_admin)."""
    await groups.leave_group(ctx, viewer, group_id=parse_id(group_id, "group"))
    return Response(status_code=204)


@router.get("/{group_id}/requests")
async def list_requests(group_id: Text, ctx: Ctx, viewer: CurrentMember) -> Json:
    return Json({"requests": await groups.list_requests(ctx, viewer, group_id=parse_id(group_id, "group"))})


@router.post("/{group_id}/requests/{handle}/approve")
async def approve(group_id: Text, handle: Text, ctx: Ctx, viewer: CurrentMember) -> Json:
    return Json(
        await groups.answer_request(ctx, viewer, group_id=parse_id(group_id, "group"), handle=handle, approve=True)
    )


@router.post("/{group_id}/requests/{handle}/decline")
async def decline(group_id: Text, handle: Text, ctx: Ctx, viewer: CurrentMember) -> Json:
    return Json(
        await groups.answer_request(ctx, viewer, group_id=parse_id(group_id, "group"), handle=handle, approve=False)
    )


@router.get("/{group_id}/members")
async def list_members(
    group_id: Text,
    ctx: Ctx,
    viewer: CurrentMember,
    cursor: Text | None = Query(None, max_length=40),
    limit: int = Query(50, ge=1, le=100),
) -> Json:
    return Json(
        await groups.list_members(ctx, viewer, group_id=parse_id(group_id, "group"), cursor=cursor, limit=limit)
    )


@router.put("/{group_id}/members/{handle}/role")
async def set_role(group_id: Text, handle: Text, body: RoleUpdate, ctx: Ctx, viewer: CurrentMember) -> Json:
    return Json(await groups.set_role(ctx, viewer, group_id=parse_id(group_id, "group"), handle=handle, role=body.role))
