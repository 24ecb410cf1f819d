"""The in-app notification centre: produce, list, read; and scheduling the alerts outside the app.

A notification is read when the member clicks it. Clicking an invitation notification
tells its sender the invitation was viewed, under the same reciprocal privacy switch as
read receipts (domain.receipts.is_receipt_shared, with the direct-message rules). A profile
view is produced under that same rule: both members' switches on, no block, receipts on
network-wide; one unread profile view per visitor is enough.

E-mail and push are never sent from a request: `add` and `schedule_message_alert` store a
job (rapport.jobs) in the caller's transaction, due RAPPORT_EMAIL_DELAY later, which decides
then whether the alert is still wanted (notify/alerts.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from rapport import jobs
from rapport.domain.errors import Invalid, NotFound
from rapport.domain.events import EventType
from rapport.domain.model import ConversationKind, Member, MemberId
from rapport.domain.notify import NOTIFICATION_KINDS, preference_kind, resolve
from rapport.domain.receipts import is_receipt_shared
from rapport.notify import MESSAGE_ALERT, NOTIFICATION_ALERT
from rapport.services.context import Context
from rapport.services.shapes import iso, member_json
from rapport.services.uow import UnitOfWork
from rapport.store import members, social
from rapport.store import notifications as store

KINDS = NOTIFICATION_KINDS
MAX_PAGE = 100


def _json(row: Any, actor: Member | None) -> dict[str, Any]:
    return {
        "id": str(row.id),
        "kind": row.kind,
        "actor": member_json(actor) if actor else None,
        "subject_id": str(row.subject_id) if row.subject_id is not None else None,
        "conversation_id": str(row.conversation_id) if row.conversation_id is not None else None,
        "created_at": iso(row.created_at),
        "read_at": iso(row.read_at),
    }


def _delay(uow: UnitOfWork) -> timedelta:
    return timedelta(seconds=uow.ctx.settings.email_delay_seconds)


async def add(
    uow: UnitOfWork,
    *,
    member_id: MemberId,
    kind: str,
    actor: Member,
    subject_id: int | None,
    conversation_id: int | None = None,
) -> None:
    """Store a notification and announce it with this transaction; schedule its e-mail and push.

    The member's preferences for the kind decide: `in_app` off stores nothing in the centre;
    `email` or `push` on stores one job, due after RAPPORT_EMAIL_DELAY.
    """
    if kind not in KINDS:
        raise ValueError(f"unknown notification kind {kind!r}")
    choices, _ = await store.get_preferences(uow.conn, member_id=member_id)
    governing = preference_kind(kind)
    wanted = resolve(choices)[governing] if governing else {"in_app": True, "email": False, "push": False}
    notification_id: int | None = None
    if wanted["in_app"]:
        notification_id = await store.add(
            uow.conn,
            member_id=member_id,
            kind=kind,
            actor_id=actor.id,
            subject_id=subject_id,
            conversation_id=conversation_id,
            at=uow.now,
        )
        uow.emit(
            EventType.NOTIFICATION_NEW,
            [member_id],
            {
                "notification": {
                    "id": str(notification_id),
                    "kind": kind,
                    "actor": member_json(actor),
                    "subject_id": str(subject_id) if subject_id is not None else None,
                    "conversation_id": str(conversation_id) if conversation_id is not None else None,
                    "created_at": uow.at,
                    "read_at": None,
                }
            },
        )
    if wanted["email"] or wanted["push"]:
        await jobs.enqueue(
            uow.conn,
            kind=NOTIFICATION_ALERT,
            payload={
                "member_id": member_id,
                "kind": kind,
                "actor_id": actor.id,
                "subject_id": subject_id,
                "conversation_id": conversation_id,
                "notification_id": notification_id,
            },
            run_at=uow.now + _delay(uow),
            now=uow.now,
        )


async def schedule_message_alerts(uow: UnitOfWork, *, conversation_ids: Sequence[int]) -> None:
    """Many conversations got a message at once (a sponsored campaign's page): their alert jobs, in one statement."""
    # Keyless: each of these conversations is new, so none has an alert job waiting already.
    await jobs.enqueue_per_id(
        uow.conn,
        kind=MESSAGE_ALERT,
        field="conversation_id",
        ids=conversation_ids,
        run_at=uow.now + _delay(uow),
        now=uow.now,
    )


async def schedule_message_alert(uow: UnitOfWork, *, conversation_id: int) -> None:
    """A message arrived: make sure the conversation's alert job is waiting (at most one row, often none).

    The insert is skipped while this process knows the job waits (rapport.jobs.waiting)."""
    key = str(conversation_id)
    waiting = uow.ctx.waiting_jobs
    if waiting.waiting(MESSAGE_ALERT, key, uow.now):
        return
    run_at = uow.now + _delay(uow)
    stored = await jobs.enqueue(
        uow.conn, kind=MESSAGE_ALERT, key=key, payload={"conversation_id": conversation_id}, run_at=run_at, now=uow.now
    )
    if stored:
        now = uow.now

        async def remember() -> None:
            waiting.remember(MESSAGE_ALERT, key, run_at, now)

        uow.after_commit(remember)


def _parse_cursor(cursor: str | None) -> int | None:
    if cursor is None or cursor == "":
        return None
    if not cursor.isdigit() or len(cursor) > 18:
        raise Invalid("That cursor is not one this server gave out.", code="invalid_cursor")
    return int(cursor)


async def list_for(ctx: Context, viewer: Member, *, cursor: str | None = None, limit: int = 50) -> dict[str, Any]:
    """A page of the member's notifications, newest first, and the unread count."""
    if not 1 <= limit <= MAX_PAGE:
        raise Invalid(f"limit is between 1 and {MAX_PAGE}.", code="invalid_limit")
    before = _parse_cursor(cursor)
    async with ctx.db.read() as conn:
        rows = await store.list_page(conn, member_id=viewer.id, before=before, limit=limit + 1)
        unread = await store.count_unread(conn, member_id=viewer.id)
        page = rows[:limit]
        actors = await members.list_by_ids(conn, ids=[r.actor_id for r in page if r.actor_id])
        hidden = await social.blocked_among(conn, member_id=viewer.id, others=actors)
    return {
        "notifications": [_json(r, actors.get(r.actor_id)) for r in page if r.actor_id not in hidden],
        "unread_count": unread,
        "next_cursor": str(page[-1].id) if len(rows) > limit else None,
    }


async def mark_read(ctx: Context, viewer: Member, *, notification_id: int) -> None:
    """The member clicked the notification."""
    async with UnitOfWork(ctx) as uow:
        row = await store.get(uow.conn, notification_id=notification_id, member_id=viewer.id)
        if row is None:
            raise NotFound("No such notification.", code="notification_not_found")
        if not await store.mark_read(uow.conn, notification_id=row.id, at=uow.now):
            return
        unread = await store.count_unread(uow.conn, member_id=viewer.id)
        uow.emit(EventType.NOTIFICATION_READ, [viewer.id], {"notification_id": str(row.id), "unread_count": unread})
        if row.kind == "invitation_received" and row.subject_id is not None and row.actor_id:
            await _tell_inviter(ctx, uow, viewer, inviter_id=MemberId(row.actor_id), invitation_id=row.subject_id)


async def mark_all_read(ctx: Context, viewer: Member) -> None:
    """Every notification of the member is read (no invitation is marked viewed by this)."""
    async with UnitOfWork(ctx) as uow:
        if await store.mark_all_read(uow.conn, member_id=viewer.id, at=uow.now):
            uow.emit(EventType.NOTIFICATION_READ, [viewer.id], {"notification_id": None, "unread_count": 0})


async def _tell_inviter(
    ctx: Context, uow: UnitOfWork, viewer: Member, *, inviter_id: MemberId, invitation_id: int
) -> None:
    if not await social.mark_invitation_viewed(uow.conn, invitation_id=invitation_id, at=uow.now):
        return
    inviter = await members.get(uow.conn, member_id=inviter_id)
    if inviter is None:
        return
    if await _shares_receipts(ctx, uow, viewer, inviter):
        uow.emit(
            EventType.INVITATION_VIEWED,
            [inviter_id],
            {"invitation_id": str(invitation_id), "viewer": member_json(viewer), "viewed_at": uow.at},
        )


async def _shares_receipts(ctx: Context, uow: UnitOfWork, actor: Member, other: Member) -> bool:
    """Would `other` see `actor`'s read receipt in a direct conversation? The same rule governs views."""
    blocked = await social.is_blocked_either_way(uow.conn, a=actor.id, b=other.id)
    shared = is_receipt_shared(
        kind=ConversationKind.DIRECT,
        reader_switch=actor.settings.read_receipts_and_typing,
        sender_switch=other.settings.read_receipts_and_typing,
        blocked=blocked,
    )
    return shared and await ctx.network.receipts_enabled(uow.conn)


async def profile_viewed(ctx: Context, viewer: Member, *, viewed: Member) -> None:
    """`viewer` opened `viewed`'s profile: tell `viewed`, if receipts are shared both ways."""
    if viewer.id == viewed.id or not (
        viewer.settings.read_receipts_and_typing and viewed.settings.read_receipts_and_typing
    ):
        return
    async with ctx.db.read() as conn:
        if await store.has_unread(conn, member_id=viewed.id, kind="profile_view", actor_id=viewer.id):
            return
    async with UnitOfWork(ctx) as uow:
        fresh = await members.get(uow.conn, member_id=viewer.id)
        if fresh is None or not await _shares_receipts(ctx, uow, fresh, viewed):
            return
        if await store.has_unread(uow.conn, member_id=viewed.id, kind="profile_view", actor_id=viewer.id):
            return
        await add(uow, member_id=viewed.id, kind="profile_view", actor=fresh, subject_id=None)
