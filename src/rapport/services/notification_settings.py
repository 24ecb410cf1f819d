"""A member's notification preferences, push subscriptions, and one-click unsubscribe."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rapport.domain.errors import Invalid, NotFound
from rapport.domain.model import Member
from rapport.domain.notify import PREFERENCE_KINDS, merge, resolve
from rapport.notify import unsubscribe as tokens
from rapport.notify import webpush
from rapport.notify.keys import NotificationKeys, b64url
from rapport.services.context import Context
from rapport.services.shapes import iso
from rapport.store import members
from rapport.store import notifications as store
from rapport.store import push as push_store


def _keys(ctx: Context) -> NotificationKeys:
    if ctx.keys is None:  # pragma: no cover - the app lifespan always loads them
        raise RuntimeError("notification keys are not loaded")
    return ctx.keys


def _shape(choices: Mapping[str, Mapping[str, bool]], email_previews: bool) -> dict[str, Any]:
    return {"preferences": resolve(choices), "email_previews": email_previews}


async def get_preferences(ctx: Context, viewer: Member) -> dict[str, Any]:
    async with ctx.db.read() as conn:
        choices, previews = await store.get_preferences(conn, member_id=viewer.id)
    return _shape(choices, previews)


async def update_preferences(
    ctx: Context, viewer: Member, *, change: Mapping[str, Mapping[str, bool]] | None, email_previews: bool | None
) -> dict[str, Any]:
    """Apply a partial change; an unknown kind or channel refuses all of it (422), storing nothing."""
    async with ctx.db.write() as conn:
        choices, previews = await store.get_preferences(conn, member_id=viewer.id)
        choices = merge(choices, change or {})
        previews = previews if email_previews is None else email_previews
        await store.save_preferences(conn, member_id=viewer.id, choices=choices, email_previews=previews)
    return _shape(choices, previews)


def vapid_key(ctx: Context) -> str:
    return b64url(_keys(ctx).vapid_public)


def _subscription_json(row: Any) -> dict[str, Any]:
    return {"id": str(row.id), "endpoint": row.endpoint, "created_at": iso(row.created_at)}


async def subscribe(ctx: Context, viewer: Member, *, endpoint: str, p256dh: str, auth: str) -> dict[str, Any]:
    """Keep a browser's push subscription, after checking its keys and that its endpoint is one we may call."""
    webpush.parse_keys(p256dh, auth)
    if len(endpoint) > 2000:
        raise Invalid("This push endpoint is not accepted: too long.", code="invalid_push_endpoint")
    await webpush.check_endpoint(endpoint, allow_insecure=ctx.settings.push_allow_insecure)
    async with ctx.db.write() as conn:
        row = await push_store.save(
            conn, member_id=viewer.id, endpoint=endpoint, p256dh=p256dh, auth=auth, at=ctx.clock.now()
        )
    return _subscription_json(row)


async def list_subscriptions(ctx: Context, viewer: Member) -> list[dict[str, Any]]:
    async with ctx.db.read() as conn:
        return [_subscription_json(r) for r in await push_store.list_for(conn, member_id=viewer.id)]


async def remove_subscription(ctx: Context, viewer: Member, *, subscription_id: int) -> None:
    async with ctx.db.write() as conn:
        if not await push_store.remove(conn, subscription_id=subscription_id, member_id=viewer.id):
            raise NotFound("No such push subscription.", code="push_subscription_not_found")


def unsubscribe_token(ctx: Context, *, member_id: int, kind: str) -> str:
    return tokens.sign(_keys(ctx).unsubscribe, member_id=member_id, kind=kind, now=ctx.clock.now())


async def check_unsubscribe(ctx: Context, token: str) -> str:
    """The preference kind a token would turn off; BadToken when it is malformed, forged or expired."""
    found = tokens.verify(_keys(ctx).unsubscribe, token, now=ctx.clock.now())
    if found.kind not in PREFERENCE_KINDS:
        raise tokens.BadToken("unknown kind")
    return found.kind


async def unsubscribe(ctx: Context, token: str) -> str:
    """One-click (RFC 8058): turn that kind of e-mail off for the token's member, no sign-in."""
    found = tokens.verify(_keys(ctx).unsubscribe, token, now=ctx.clock.now())
    if found.kind not in PREFERENCE_KINDS:
        raise tokens.BadToken("unknown kind")
    async with ctx.db.write() as conn:
        choices, previews = await store.get_preferences(conn, member_id=found.member_id)
        if await members.get(conn, member_id=found.member_id) is None:
            raise tokens.BadToken("no such member")
        choices = merge(choices, {found.kind: {"email": False}})
        await store.save_preferences(conn, member_id=found.member_id, choices=choices, email_previews=previews)
    return found.kind
