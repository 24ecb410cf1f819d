"""Notifications: the in-app centre, preferences, Web Push subscriptions, one-click unsubscribe."""

from __future__ import annotations

from html import escape
from typing import Any

from fastapi import APIRouter, Query, Response
from fastapi.responses import HTMLResponse

from rapport.api.deps import Ctx, CurrentMember
from rapport.api.responses import Json
from rapport.api.routes import parse_id
from rapport.api.schemas import NotificationPreferencesUpdate, PushSubscriptionCreate, Text
from rapport.notify.unsubscribe import BadToken
from rapport.services import notification_settings, notifications

router = APIRouter(tags=["notifications"])


@router.get("/api/v1/notifications")
async def list_notifications(
    ctx: Ctx,
    viewer: CurrentMember,
    cursor: Text | None = Query(None, max_length=40),
    limit: int = Query(50, ge=1, le=100),
) -> Json:
    """Newest first; `next_cursor` pages to older ones."""
    return Json(await notifications.list_for(ctx, viewer, cursor=cursor, limit=limit))


@router.post("/api/v1/notifications/read-all", status_code=204)
async def read_all_notifications(ctx: Ctx, viewer: CurrentMember) -> Response:
    await notifications.mark_all_read(ctx, viewer)
    return Response(status_code=204)


@router.post("/api/v1/notifications/{notification_id}/read", status_code=204)
async def read_notification(notification_id: Text, ctx: Ctx, viewer: CurrentMember) -> Response:
    """The member clicked the notification."""
    await notifications.mark_read(ctx, viewer, notification_id=parse_id(notification_id, "notification"))
    return Response(status_code=204)


@router.get("/api/v1/me/notification-preferences")
async def get_preferences(ctx: Ctx, viewer: CurrentMember) -> Json:
    return Json(await notification_settings.get_preferences(ctx, viewer))


@router.patch("/api/v1/me/notification-preferences")
async def update_preferences(body: NotificationPreferencesUpdate, ctx: Ctx, viewer: CurrentMember) -> Json:
    """Change some kind-and-channel switches and/or email_previews; the rest stay."""
    return Json(
        await notification_settings.update_preferences(
            ctx, viewer, change=body.preferences, email_previews=body.email_previews
        )
    )


@router.get("/api/v1/push/vapid-key")
async def vapid_key(ctx: Ctx, viewer: CurrentMember) -> Json:
    return Json({"key": notification_settings.vapid_key(ctx)})


@router.post("/api/v1/push/subscriptions", status_code=201)
async def subscribe(body: PushSubscriptionCreate, ctx: Ctx, viewer: CurrentMember) -> Json:
    subscription = await notification_settings.subscribe(
        ctx, viewer, endpoint=body.endpoint, p256dh=body.keys.p256dh, auth=body.keys.auth
    )
    return Json({"subscription": subscription}, status_code=201)


@router.get("/api/v1/push/subscriptions")
async def list_subscriptions(ctx: Ctx, viewer: CurrentMember) -> Json:
    return Json({"subscriptions": await notification_settings.list_subscriptions(ctx, viewer)})


@router.delete("/api/v1/push/subscriptions/{subscription_id}", status_code=204)
async def unsubscribe_push(subscription_id: Text, ctx: Ctx, viewer: CurrentMember) -> Response:
    await notification_settings.remove_subscription(
        ctx, viewer, subscription_id=parse_id(subscription_id, "push_subscription")
    )
    return Response(status_code=204)


def _page(title: str, text: str, status: int = 200, form_token: str | None = None) -> HTMLResponse:
    form = (
        f'<form method="post" action="/api/v1/unsubscribe?token={escape(form_token)}">'
        '<button type="submit">Unsubscribe</button></form>'
        if form_token
        else ""
    )
    body = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)} — Rapport</title></head>"
        "<body>"
        f"<h1>{escape(title)}</h1><p>{escape(text)}</p>{form}</body></html>"
    )
    return HTMLResponse(body, status_code=status, headers={"Cache-Control": "no-store"})


_BAD_TOKEN = ("Link not valid", "This unsubscribe link is not valid or has expired. Change e-mail settings in Rapport.")
_BAD_LINK: dict[int | str, dict[str, Any]] = {
    400: {"description": "The link is not valid (a page).", "content": {"text/html": {}}}
}


@router.get("/api/v1/unsubscribe", response_class=HTMLResponse, responses=_BAD_LINK)
async def unsubscribe_page(ctx: Ctx, token: str = Query("", max_length=1000)) -> HTMLResponse:
    """The link in an e-mail: a page that asks (a GET changes nothing: mail scanners follow links)."""
    try:
        kind = await notification_settings.check_unsubscribe(ctx, token)
    except BadToken:
        return _page(*_BAD_TOKEN, status=400)
    return _page("Unsubscribe", f"Stop e-mails about {kind} notifications?", form_token=token)


@router.post("/api/v1/unsubscribe", response_class=HTMLResponse, responses=_BAD_LINK)
async def unsubscribe(ctx: Ctx, token: str = Query("", max_length=1000)) -> HTMLResponse:
    """RFC 8058 one-click: turns that kind of e-mail off without signing in."""
    try:
        kind = await notification_settings.unsubscribe(ctx, token)
    except BadToken:
        return _page(*_BAD_TOKEN, status=400)
    return _page("Unsubscribed", f"You will no longer get e-mails about {kind} notifications.")
