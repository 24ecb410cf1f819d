"""Web Push subscriptions: one row per browser endpoint."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncConnection

from rapport.store.tables import push_subscriptions


async def save(
    conn: AsyncConnection, *, member_id: int, endpoint: str, p256dh: str, auth: str, at: datetime
) -> Row[Any]:
    """Store a subscription; an endpoint seen before is moved to this member with its new keys."""
    existing = (await conn.execute(select(push_subscriptions).where(push_subscriptions.c.endpoint == endpoint))).first()
    values = {"member_id": member_id, "p256dh": p256dh, "auth": auth}
    if existing is None:
        await conn.execute(insert(push_subscriptions).values(endpoint=endpoint, created_at=at, **values))
    else:
        await conn.execute(update(push_subscriptions).where(push_subscriptions.c.id == existing.id).values(values))
    row = (await conn.execute(select(push_subscriptions).where(push_subscriptions.c.endpoint == endpoint))).first()
    assert row is not None
    return row


async def list_for(conn: AsyncConnection, *, member_id: int) -> Sequence[Row[Any]]:
    query = select(push_subscriptions).where(push_subscriptions.c.member_id == member_id)
    return list(await conn.execute(query.order_by(push_subscriptions.c.id)))


async def remove(conn: AsyncConnection, *, subscription_id: int, member_id: int | None = None) -> bool:
    """Delete one subscription (only the member's own, when `member_id` is given)."""
    statement = delete(push_subscriptions).where(push_subscriptions.c.id == subscription_id)
    if member_id is not None:
        statement = statement.where(push_subscriptions.c.member_id == member_id)
    return (await conn.execute(statement)).rowcount == 1
