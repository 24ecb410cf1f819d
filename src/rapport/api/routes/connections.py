"""Invitations, connections and blocks."""

from __future__ import annotations

from fastapi import APIRouter, Query, Response

from rapport.api.deps import Ctx, CurrentMember
from rapport.api.responses import Json
from rapport.api.routes import parse_id
from rapport.api.schemas import (
    BlockCreate,
    ConnectionsRead,
    InvitationCreate,
    InvitationOnly,
    InvitationsRead,
    Text,
)
from rapport.services import connections
from rapport.services.shapes import member_json

router = APIRouter(prefix="/api/v1", tags=["connections"])


@router.post("/invitations", status_code=201, response_model=InvitationOnly)
async def invite(body: InvitationCreate, ctx: Ctx, viewer: CurrentMember) -> Json:
    invitation = await connections.invite(ctx, viewer, to=body.to, note=body.note)
    return Json({"invitation": invitation}, status_code=201)


@router.get("/invitations", response_model=InvitationsRead)
async def list_invitations(ctx: Ctx, viewer: CurrentMember, direction: Text = Query("received", max_length=20)) -> Json:
    return Json({"invitations": await connections.list_invitations(ctx, viewer, direction=direction)})


async def _respond(ctx: Ctx, viewer: CurrentMember, invitation_id: str, action: str) -> Json:
    invitation = await connections.respond(
        ctx, viewer, invitation_id=parse_id(invitation_id, "invitation"), action=action
    )
    return Json({"invitation": invitation})


@router.post("/invitations/{invitation_id}/accept", response_model=InvitationOnly)
async def accept(invitation_id: Text, ctx: Ctx, viewer: CurrentMember) -> Json:
    return await _respond(ctx, viewer, invitation_id, "accept")


@router.post("/invitations/{invitation_id}/decline", response_model=InvitationOnly)
async def decline(invitation_id: Text, ctx: Ctx, viewer: CurrentMember) -> Json:
    return await _respond(ctx, viewer, invitation_id, "decline")


@router.post("/invitations/{invitation_id}/withdraw", response_model=InvitationOnly)
async def withdraw(invitation_id: Text, ctx: Ctx, viewer: CurrentMember) -> Json:
    return await _respond(ctx, viewer, invitation_id, "withdraw")


@router.get("/connections", response_model=ConnectionsRead)
async def list_connections(ctx: Ctx, viewer: CurrentMember) -> Json:
    return Json({"connections": [member_json(m) for m in await connections.list_connections(ctx, viewer)]})


@router.delete("/connections/{handle}", status_code=204)
async def remove_connection(handle: Text, ctx: Ctx, viewer: CurrentMember) -> Response:
    await connections.remove_connection(ctx, viewer, handle=handle)
    return Response(status_code=204)


@router.post("/blocks", status_code=201)
async def block(body: BlockCreate, ctx: Ctx, viewer: CurrentMember) -> Json:
    blocked = await connections.block(ctx, viewer, handle=body.handle)
    return Json({"blocked": member_json(blocked)}, status_code=201)


@router.get("/blocks")
async def list_blocks(ctx: Ctx, viewer: CurrentMember) -> Json:
    return Json({"blocked": [member_json(m) for m in await connections.list_blocked(ctx, viewer)]})


@router.delete("/blocks/{handle}", status_code=204)
async def unblock(handle: Text, ctx: Ctx, viewer: CurrentMember) -> Response:
    await connections.unblock(ctx, viewer, handle=handle)
    return Response(status_code=204)
