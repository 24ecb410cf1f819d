"""In-app notifications and notification preferences: the rows behind services/notifications.py."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import func, insert, select, update
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncConnection

from rapport.store.dialect import insert_or_skip
from rapport.store.tables import notification_preferences, notifications


async def add(
    conn: AsyncConnection,
    *,
    member_id: int,
    kind: str,
    actor_id: int | None,
    subject_id: int | None,
    conversation_id: int | None,
    at: datetime,
) -> int:
    values = {
        "member_id": member_id,
        "kind": kind,
        "actor_id": actor_id,
        "subject_id": subject_id,
        "conversation_id": conversation_id,
        "created_at": at,
    }
    return int((await conn.execute(insert(notifications).values(values).returning(notifications.c.id))).scalar_one())


async def get(conn: AsyncConnection, *, notification_id: int, member_id: int) -> Row[Any] | None:
    """One of the member's notifications; None for anyone else's."""
    query = select(notifications).where(notifications.c.id == notification_id, notifications.c.member_id == member_id)
    return (await conn.execute(query)).first()


async def list_page(conn: AsyncConnection, *, member_id: int, before: int | None, limit: int) -> Sequence[Row[Any]]:
    """Newest first, older than the notification id `before`."""
    query = select(notifications).where(notifications.c.member_id == member_id)
    if before is not None:
        query = query.where(notifications.c.id < before)
    return list(await conn.execute(query.order_by(notifications.c.id.desc()).limit(limit)))


async def count_unread(conn: AsyncConnection, *, member_id: int) -> int:
    query = select(func.count()).where(notifications.c.member_id == member_id, notifications.c.read_at.is_(None))
    return int(await conn.scalar(query) or 0)


async def has_unread(conn: AsyncConnection, *, member_id: int, kind: str, actor_id: int) -> bool:
    """Is a notification of this kind from this actor still waiting to be read?"""
    query = select(notifications.c.id).where(
        notifications.c.member_id == member_id,
        notifications.c.kind == kind,
        notifications.c.actor_id == actor_id,
        notifications.c.read_at.is_(None),
    )
    return (await conn.execute(query.limit(1))).first() is not None


async def mark_read(conn: AsyncConnection, *, notification_id: int, at: datetime) -> bool:
    statement = (
        update(notifications)
        .where(notifications.c.id == notification_id, notifications.c.read_at.is_(None))
        .values(read_at=at)
    )
    return (await conn.execute(statement)).rowcount == 1


async def mark_all_read(conn: AsyncConnection, *, member_id: int, at: datetime) -> int:
    statement = (
        update(notifications)
        .where(notifications.c.member_id == member_id, notifications.c.read_at.is_(None))
        .values(read_at=at)
    )
    return int((await conn.execute(statement)).rowcount)


async def get_preferences(conn: AsyncConnection, *, member_id: int) -> tuple[dict[str, dict[str, bool]], bool]:
    """(the member's stored choices, email_previews); nothing stored means all defaults."""
    query = select(notification_preferences.c.choices, notification_preferences.c.email_previews).where(
        notification_preferences.c.member_id == member_id
    )
    row = (await conn.execute(query)).first()
    if row is None:
        return {}, True
    return orjson.loads(row.choices), bool(row.email_previews)


async def save_preferences(
    conn: AsyncConnection, *, member_id: int, choices: dict[str, dict[str, bool]], email_previews: bool
) -> None:
    values = {"choices": orjson.dumps(choices).decode(), "email_previews": email_previews}
    inserted = await conn.execute(
        insert_or_skip(conn, notification_preferences, "member_id")
        .values(member_id=member_id, **values)
        .returning(notification_preferences.c.member_id)
    )
    if inserted.first() is None:
        await conn.execute(
            update(notification_preferences).where(notification_preferences.c.member_id == member_id).values(values)
        )
