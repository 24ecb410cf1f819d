"""Accounts, the signed-in member, other members, and admin operations."""

from __future__ import annotations

from fastapi import APIRouter, Query, Response
from sqlalchemy import delete, insert

from rapport.api.deps import Admin, ClientAddress, Ctx, CurrentMember, Token
from rapport.api.responses import Json
from rapport.api.schemas import (
    ErrorRead,
    LoginCreate,
    MemberOnly,
    MembersRead,
    MeRead,
    NetworkSettingsUpdate,
    PasswordChange,
    ProfileRead,
    ProfileUpdate,
    RegisterCreate,
    SessionRead,
    SettingsOnly,
    SettingsUpdate,
    Text,
    TierUpdate,
)
from rapport.services import accounts, insight, members
from rapport.services.shapes import member_json, settings_json
from rapport.store.tables import network_settings

router = APIRouter(prefix="/api/v1", tags=["accounts"])


@router.post("/auth/register", status_code=201, response_model=SessionRead)
async def register(body: RegisterCreate, ctx: Ctx, address: ClientAddress) -> Json:
    session = await accounts.register(
        ctx, handle=body.handle, name=body.name, email=body.email, password=body.password, address=address
    )
    return Json({"member": member_json(session.member), "token": session.token}, status_code=201)


@router.post("/auth/login", response_model=SessionRead, responses={401: {"model": ErrorRead}})
async def login(body: LoginCreate, ctx: Ctx, address: ClientAddress) -> Json:
    session = await accounts.login(ctx, login=body.login, password=body.password, address=address)
    return Json({"member": member_json(session.member), "token": session.token})


@router.post("/auth/logout", status_code=204)
async def logout(ctx: Ctx, token: Token, viewer: CurrentMember, everywhere: bool = False) -> Response:
    await accounts.logout(ctx, viewer, token=token, everywhere=everywhere)
    return Response(status_code=204)


@router.post("/me/password", status_code=204)
async def change_password(body: PasswordChange, ctx: Ctx, token: Token, viewer: CurrentMember) -> Response:
    await accounts.change_password(ctx, viewer, token=token, current=body.current, new=body.new)
    return Response(status_code=204)


@router.get("/me", response_model=MeRead)
async def me(ctx: Ctx, viewer: CurrentMember) -> Json:
    found = await members.me(ctx, viewer)
    return Json(
        {
            "member": member_json(viewer),
            "settings": settings_json(viewer),
            "inmail_credits": found["inmail_credits"],
            "group_messages": found["group_messages"],
        }
    )


@router.patch("/me", response_model=MemberOnly)
async def update_me(body: ProfileUpdate, ctx: Ctx, viewer: CurrentMember) -> Json:
    member = await members.update_profile(ctx, viewer, body.model_dump(exclude_unset=True))
    return Json({"member": member_json(member)})


@router.patch("/me/settings", response_model=SettingsOnly)
async def update_settings(body: SettingsUpdate, ctx: Ctx, viewer: CurrentMember) -> Json:
    member = await members.update_settings(ctx, viewer, body.model_dump(exclude_unset=True))
    return Json({"settings": settings_json(member)})


@router.get("/members", response_model=MembersRead)
async def search_members(
    ctx: Ctx, viewer: CurrentMember, q: Text = Query("", max_length=100), limit: int = Query(10, ge=1, le=50)
) -> Json:
    found = await members.search(ctx, viewer, q, limit)
    return Json({"members": [member_json(m) for m in found]})


@router.get("/members/{handle}", response_model=ProfileRead)
async def profile(
    handle: Text,
    ctx: Ctx,
    viewer: CurrentMember,
    view: bool = Query(True, description="false: a lookup (e.g. while composing), not a visit: no profile view"),
) -> Json:
    member, degree = await members.profile(ctx, viewer, handle, record_view=view)
    return Json({"member": member_json(member), "degree": degree})


@router.put("/admin/members/{handle}/tier", response_model=MemberOnly, dependencies=[Admin], tags=["admin"])
async def set_tier(handle: Text, body: TierUpdate, ctx: Ctx) -> Json:
    member = await members.set_tier(ctx, handle=handle, tier=body.tier)
    return Json({"member": member_json(member)})


@router.put("/admin/settings", dependencies=[Admin], tags=["admin"])
async def set_network_settings(body: NetworkSettingsUpdate, ctx: Ctx) -> Json:
    """The operator's switch: read receipts for the whole network."""
    async with ctx.db.write() as conn:
        # Recorded on every set (a repeat is harmless): the cached switch may be a process behind.
        await insight.record_switch(ctx, conn, member_id=None, enabled=body.read_receipts)
        await conn.execute(delete(network_settings).where(network_settings.c.key == "read_receipts"))
        await conn.execute(
            insert(network_settings).values(key="read_receipts", value="on" if body.read_receipts else "off")
        )
    ctx.network.forget()
    return Json({"settings": {"read_receipts": body.read_receipts}})
