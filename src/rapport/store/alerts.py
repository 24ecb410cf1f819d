"""What the e-mail and push alerts read and write: unread messages, addresses, per-conversation state."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import orjson
from sqlalchemy import and_, insert, or_, select, update
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncConnection

from rapport.domain.notify import EmailThrottle
from rapport.store.tables import (
    conversations,
    members,
    message_alerts,
    messages,
    notification_preferences,
    participants,
    push_subscriptions,
)


@dataclass(frozen=True)
class AlertState:
    """Which messages of one conversation e-mail and push already covered for one member."""

    emailed_through: int = 0
    pushed_through: int = 0
    throttle: EmailThrottle = field(default_factory=EmailThrottle)


async def states(conn: AsyncConnection, *, conversation_id: int, member_ids: Iterable[int]) -> dict[int, AlertState]:
    query = select(message_alerts).where(
        message_alerts.c.conversation_id == conversation_id, message_alerts.c.member_id.in_(list(member_ids))
    )
    return {
        r.member_id: AlertState(
            r.emailed_through, r.pushed_through, EmailThrottle(r.last_email_at, timedelta(seconds=r.throttle_seconds))
        )
        for r in await conn.execute(query)
    }


async def states_of(conn: AsyncConnection, *, conversation_ids: Iterable[int]) -> dict[tuple[int, int], AlertState]:
    """(conversation, member) -> state, for every member with one in these conversations."""
    query = select(message_alerts).where(message_alerts.c.conversation_id.in_(list(conversation_ids)))
    return {
        (r.conversation_id, r.member_id): AlertState(
            r.emailed_through, r.pushed_through, EmailThrottle(r.last_email_at, timedelta(seconds=r.throttle_seconds))
        )
        for r in await conn.execute(query)
    }


async def conversation_kinds(conn: AsyncConnection, *, conversation_ids: Iterable[int]) -> dict[int, str]:
    query = select(conversations.c.id, conversations.c.kind).where(conversations.c.id.in_(list(conversation_ids)))
    return {r.id: r.kind for r in await conn.execute(query)}


async def participants_of(conn: AsyncConnection, *, conversation_ids: Iterable[int]) -> dict[int, list[Any]]:
    """Each conversation's participants: who, muted, and how far they have read or cleared."""
    query = select(
        participants.c.conversation_id,
        participants.c.member_id,
        participants.c.muted,
        participants.c.read_up_to,
        participants.c.cleared_through,
    ).where(participants.c.conversation_id.in_(list(conversation_ids)))
    out: dict[int, list[Any]] = {}
    for r in await conn.execute(query):
        out.setdefault(r.conversation_id, []).append(r)
    return out


async def messages_after_many(conn: AsyncConnection, *, floors: Mapping[int, int], limit: int) -> dict[int, list[Any]]:
    """Per conversation, its live messages after its floor id, oldest first."""
    if not floors:
        return {}
    query = (
        select(messages.c.id, messages.c.conversation_id, messages.c.sender_id, messages.c.body, messages.c.created_at)
        .where(
            or_(*(and_(messages.c.conversation_id == c, messages.c.id > f) for c, f in floors.items())),
            messages.c.deleted.is_(False),
        )
        .order_by(messages.c.id)
        .limit(limit)
    )
    out: dict[int, list[Any]] = {}
    for r in await conn.execute(query):
        out.setdefault(r.conversation_id, []).append(r)
    return out


async def subscriptions_by_id(conn: AsyncConnection, *, ids: Iterable[int]) -> dict[int, Row[Any]]:
    query = select(push_subscriptions).where(push_subscriptions.c.id.in_(list(ids)))
    return {r.id: r for r in await conn.execute(query)}


async def save_state(conn: AsyncConnection, *, member_id: int, conversation_id: int, state: AlertState) -> None:
    values = {
        "emailed_through": state.emailed_through,
        "pushed_through": state.pushed_through,
        "last_email_at": state.throttle.last_sent_at,
        "throttle_seconds": int(state.throttle.interval.total_seconds()),
    }
    where = (message_alerts.c.member_id == member_id, message_alerts.c.conversation_id == conversation_id)
    if (await conn.execute(update(message_alerts).where(*where).values(values))).rowcount == 0:
        await conn.execute(
            insert(message_alerts).values(member_id=member_id, conversation_id=conversation_id, **values)
        )


async def messages_after(conn: AsyncConnection, *, conversation_id: int, after: int, limit: int) -> Sequence[Row[Any]]:
    """The conversation's live messages after id `after`, oldest first."""
    query = (
        select(messages.c.id, messages.c.sender_id, messages.c.body, messages.c.created_at)
        .where(messages.c.conversation_id == conversation_id, messages.c.id > after, messages.c.deleted.is_(False))
        .order_by(messages.c.id)
        .limit(limit)
    )
    return list(await conn.execute(query))


async def emails(conn: AsyncConnection, *, member_ids: Iterable[int]) -> dict[int, str]:
    query = select(members.c.id, members.c.email).where(members.c.id.in_(list(member_ids)))
    return {r.id: r.email for r in await conn.execute(query)}


async def preferences(
    conn: AsyncConnection, *, member_ids: Iterable[int]
) -> dict[int, tuple[dict[str, dict[str, bool]], bool]]:
    """Stored choices and email_previews of those members who changed anything."""
    query = select(notification_preferences).where(notification_preferences.c.member_id.in_(list(member_ids)))
    return {r.member_id: (orjson.loads(r.choices), bool(r.email_previews)) for r in await conn.execute(query)}


async def subscriptions(conn: AsyncConnection, *, member_ids: Iterable[int]) -> dict[int, list[Any]]:
    query = select(push_subscriptions).where(push_subscriptions.c.member_id.in_(list(member_ids)))
    out: dict[int, list[Any]] = {}
    for r in await conn.execute(query.order_by(push_subscriptions.c.id)):
        out.setdefault(r.member_id, []).append(r)
    return out


async def subscription(conn: AsyncConnection, *, subscription_id: int) -> Row[Any] | None:
    return (await conn.execute(select(push_subscriptions).where(push_subscriptions.c.id == subscription_id))).first()
