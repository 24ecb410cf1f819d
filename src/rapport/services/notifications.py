"""In-app notifications: invitation received/accepted, profile view, endorsement.

A notification is read when the member clicks it. Clicking an invitation notification
tells its sender the invitation was viewed, under the same reciprocal privacy switch as
read receipts (domain.receipts.is_receipt_shared, with the direct-message rules).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, insert, select, update

from rapport.domain.errors import NotFound
from rapport.domain.events import EventType
from rapport.domain.model import ConversationKind, Member, MemberId
from rapport.domain.receipts import is_receipt_shared
from rapport.services.context import Context
from rapport.services.shapes import iso, member_json
from rapport.services.uow import UnitOfWork
from rapport.store import members, social
from rapport.store.tables import notifications

KINDS = ("invitation_received", "invitation_accepted", "profile_view", "endorsement")


def _json(row: Any, actor: Member | None) -> dict[str, Any]:
    return {
        "id": str(row.id),
        "kind": row.kind,
        "actor": member_json(actor) if actor else None,
        "subject_id": str(row.subject_id) if row.subject_id is not None else None,
        "created_at": iso(row.created_at),
        "read_at": iso(row.read_at),
    }


async def add(uow: UnitOfWork, *, member_id: MemberId, kind: str, actor: Member, subject_id: int | None) -> None:
    """Store a notification and announce it with this transaction."""
    notification_id = (
        await uow.conn.execute(
            insert(notifications)
            .values(member_id=member_id, kind=kind, actor_id=actor.id, subject_id=subject_id, created_at=uow.now)
            .returning(notifications.c.id)
        )
    ).scalar_one()
    uow.emit(
        EventType.NOTIFICATION_NEW,
        [member_id],
        {
            "notification": {
                "id": str(notification_id),
                "kind": kind,
                "actor": member_json(actor),
                "subject_id": str(subject_id) if subject_id is not None else None,
                "created_at": uow.at,
                "read_at": None,
            }
        },
    )


async def list_for(ctx: Context, viewer: Member, *, limit: int = 50) -> dict[str, Any]:
    async with ctx.db.read() as conn:
        rows = list(
            await conn.execute(
                select(notifications)
                .where(notifications.c.member_id == viewer.id)
                .order_by(notifications.c.id.desc())
                .limit(limit)
            )
        )
        unread = await conn.scalar(
            select(func.count()).where(notifications.c.member_id == viewer.id, notifications.c.read_at.is_(None))
        )
        actors = await members.list_by_ids(conn, ids=[r.actor_id for r in rows if r.actor_id])
        hidden = await social.blocked_among(conn, member_id=viewer.id, others=actors)
    return {
        "notifications": [_json(r, actors.get(r.actor_id)) for r in rows if r.actor_id not in hidden],
        "unread_count": int(unread or 0),
    }


async def mark_read(ctx: Context, viewer: Member, *, notification_id: int) -> None:
    """The member clicked the notification."""
    async with UnitOfWork(ctx) as uow:
        row = (
            await uow.conn.execute(
                select(notifications).where(
                    notifications.c.id == notification_id, notifications.c.member_id == viewer.id
                )
            )
        ).first()
        if row is None:
            raise NotFound("No such notification.", code="notification_not_found")
        if row.read_at is not None:
            return
        await uow.conn.execute(update(notifications).where(notifications.c.id == row.id).values(read_at=uow.now))
        uow.emit(EventType.NOTIFICATION_READ, [viewer.id], {"notification_id": str(row.id)})
        if row.kind == "invitation_received" and row.subject_id is not None and row.actor_id:
            await _tell_inviter(ctx, uow, viewer, inviter_id=MemberId(row.actor_id), invitation_id=row.subject_id)


async def _tell_inviter(
    ctx: Context, uow: UnitOfWork, viewer: Member, *, inviter_id: MemberId, invitation_id: int
) -> None:
    if not await social.mark_invitation_viewed(uow.conn, invitation_id=invitation_id, at=uow.now):
        return
    inviter = await members.get(uow.conn, member_id=inviter_id)
    if inviter is None:
        return
    blocked = await social.is_blocked_either_way(uow.conn, a=viewer.id, b=inviter_id)
    shared = is_receipt_shared(
        kind=ConversationKind.DIRECT,
        reader_switch=viewer.settings.read_receipts_and_typing,
        sender_switch=inviter.settings.read_receipts_and_typing,
        blocked=blocked,
    )
    if shared and await ctx.network.receipts_enabled(uow.conn):
        uow.emit(
            EventType.INVITATION_VIEWED,
            [inviter_id],
            {"invitation_id": str(invitation_id), "viewer": member_json(viewer), "viewed_at": uow.at},
        )
