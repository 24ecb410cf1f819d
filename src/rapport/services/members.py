"""Profiles, settings, tiers, InMail credits and the degree of connection."""

from __future__ import annotations

from typing import Any

from rapport.domain import credits
from rapport.domain.degree import degree
from rapport.domain.errors import Invalid, NotFound, NotPermitted
from rapport.domain.model import Member, MemberId, Tier
from rapport.services import group_cap, insight, notifications
from rapport.services.accounts import profile_fields
from rapport.services.context import Context
from rapport.services.sessions import forget_member
from rapport.services.uow import UnitOfWork
from rapport.store import members, social


async def credit_balance(ctx: Context, conn: Any, member_id: MemberId) -> int:
    """The InMail balance with monthly grants applied (grants are settled lazily)."""
    tier, ledger = await members.get_ledger(conn, member_id=member_id)
    return credits.accrue(ledger, tier, ctx.clock.now()).balance


async def me(ctx: Context, viewer: Member) -> dict[str, Any]:
    async with ctx.db.read() as conn:
        balance = await credit_balance(ctx, conn, viewer.id)
        cap = await group_cap.allowance(
            conn, member_id=viewer.id, now=ctx.clock.now(), monthly_limit=ctx.settings.group_messages_per_month
        )
    return {"member": viewer, "inmail_credits": balance, "group_messages": cap}


async def update_profile(ctx: Context, viewer: Member, changes: dict[str, Any]) -> Member:
    fields = profile_fields(changes)
    async with ctx.db.write() as conn:
        await members.save_profile(conn, member_id=viewer.id, fields=fields)
        member = await members.get(conn, member_id=viewer.id)
    assert member is not None
    await forget_member(ctx, viewer.id)
    return member


SETTINGS = ("read_receipts_and_typing", "open_profile", "messages_from_group_members", "sponsored_messages")


async def update_settings(ctx: Context, viewer: Member, changes: dict[str, bool]) -> Member:
    """Change switches; Open Profile is for premium members only."""
    fields = {k: bool(v) for k, v in changes.items() if k in SETTINGS and v is not None}
    if fields.get("open_profile") and not viewer.tier.is_premium:
        raise NotPermitted("Open Profile is a premium feature.", code="premium_required")
    async with ctx.db.write() as conn:
        before = await members.get(conn, member_id=viewer.id)
        await members.save_profile(conn, member_id=viewer.id, fields=fields)
        member = await members.get(conn, member_id=viewer.id)
        switch = fields.get("read_receipts_and_typing")
        if before is not None and switch is not None and switch != before.settings.read_receipts_and_typing:
            await insight.record_switch(ctx, conn, member_id=viewer.id, enabled=switch)
    assert member is not None
    await forget_member(ctx, viewer.id)
    return member


async def set_tier(ctx: Context, *, handle: str, tier: str) -> Member:
    """An admin operation: settle the InMail ledger for the change and store the new tier."""
    try:
        new = Tier(tier)
    except ValueError as exc:
        raise Invalid(f"tier is one of {', '.join(t.value for t in Tier)}.", code="invalid_tier") from exc
    async with UnitOfWork(ctx) as uow:
        member = await members.get_by_handle(uow.conn, handle=handle)
        if member is None:
            raise NotFound("No such member.", code="member_not_found")
        old, ledger = await members.get_ledger(uow.conn, member_id=member.id)
        settled = credits.change_tier(ledger, old, new, uow.now)
        await members.save_ledger(uow.conn, member_id=member.id, ledger=settled)
        await members.save_profile(uow.conn, member_id=member.id, fields={"tier": new.value})
        updated = await members.get(uow.conn, member_id=member.id)
    assert updated is not None
    await forget_member(ctx, member.id)
    return updated


async def profile(ctx: Context, viewer: Member, handle: str, *, record_view: bool = True) -> tuple[Member, int | None]:
    """Another member's profile and degree; a block either way hides it entirely.

    Only a visit is a profile view: a client looking a member up while composing says
    `record_view=False`, or every recipient picked would be told they were viewed."""
    async with ctx.db.read() as conn:
        member = await members.get_by_handle(conn, handle=handle)
        if member is None or (
            member.id != viewer.id and await social.is_blocked_either_way(conn, a=viewer.id, b=member.id)
        ):
            raise NotFound("No such member.", code="member_not_found")
        is_self = member.id == viewer.id
        connected = not is_self and await social.are_connected(conn, a=viewer.id, b=member.id)
        mutual = not is_self and not connected and await social.have_mutual_connection(conn, a=viewer.id, b=member.id)
    if record_view:
        await notifications.profile_viewed(ctx, viewer, viewed=member)
    return member, degree(is_self=is_self, connected=connected, mutual=mutual)


async def search(ctx: Context, viewer: Member, query: str, limit: int) -> list[Member]:
    """Members by handle or name prefix, for composing; blocked members never appear."""
    query = query.strip()
    if not query:
        return []
    async with ctx.db.read() as conn:
        found = await members.search(conn, query=query, limit=limit + 10, exclude=[viewer.id])
        hidden = await social.blocked_among(conn, member_id=viewer.id, others=[m.id for m in found])
    return [m for m in found if m.id not in hidden][:limit]
