"""Reports of conversations, and members' suspension."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from rapport.domain.model import ConversationId, MemberId
from rapport.store.dialect import insert_or_skip
from rapport.store.tables import members, messages, reports


@dataclass(frozen=True, slots=True)
class ReportRow:
    id: int
    reporter_id: MemberId | None
    reported_id: MemberId | None
    conversation_id: ConversationId
    reason: str
    note: str | None
    state: str
    action: str | None
    created_at: datetime
    resolved_at: datetime | None


_COLUMNS = tuple(reports.c[name] for name in ReportRow.__slots__)


def _row(r: Any) -> ReportRow:
    return ReportRow(**{k: r[k] for k in ReportRow.__slots__})


async def add(
    conn: AsyncConnection,
    *,
    reporter_id: int,
    reported_id: int | None,
    conversation_id: int,
    reason: str,
    note: str | None,
    at: datetime,
) -> ReportRow | None:
    """A new open report; None when this member already reported this conversation."""
    dialect = conn.dialect.name
    row = (
        await conn.execute(
            insert_or_skip(dialect, reports, "reporter_id", "conversation_id")
            .values(
                reporter_id=reporter_id,
                reported_id=reported_id,
                conversation_id=conversation_id,
                reason=reason,
                note=note,
                state="open",
                created_at=at,
            )
            .returning(*_COLUMNS)
        )
    ).first()
    return _row(row._mapping) if row else None


async def get(conn: AsyncConnection, *, report_id: int) -> ReportRow | None:
    row = (await conn.execute(select(*_COLUMNS).where(reports.c.id == report_id))).first()
    return _row(row._mapping) if row else None


async def list_by_state(conn: AsyncConnection, *, state: str, limit: int) -> list[ReportRow]:
    """Oldest first: the queue is worked from its head."""
    rows = await conn.execute(select(*_COLUMNS).where(reports.c.state == state).order_by(reports.c.id).limit(limit))
    return [_row(r._mapping) for r in rows]


async def resolve(conn: AsyncConnection, *, report_id: int, action: str, at: datetime) -> bool:
    """Close an open report; False when it was already resolved (by another moderator, say)."""
    result = await conn.execute(
        update(reports)
        .where(reports.c.id == report_id, reports.c.state == "open")
        .values(state="resolved", action=action, resolved_at=at)
    )
    return bool(result.rowcount)


async def set_suspended(conn: AsyncConnection, *, member_id: int, at: datetime | None) -> None:
    await conn.execute(update(members).where(members.c.id == member_id).values(suspended_at=at))


async def is_suspended(conn: AsyncConnection, *, member_id: int) -> bool:
    return await conn.scalar(select(members.c.suspended_at).where(members.c.id == member_id)) is not None


async def last_sender_other_than(conn: AsyncConnection, *, conversation_id: int, member_id: int) -> MemberId | None:
    """Who last wrote in a conversation, besides `member_id`."""
    sender = await conn.scalar(
        select(messages.c.sender_id)
        .where(
            messages.c.conversation_id == conversation_id,
            messages.c.sender_id.is_not(None),
            messages.c.sender_id != member_id,
        )
        .order_by(messages.c.id.desc())
        .limit(1)
    )
    return MemberId(sender) if sender is not None else None
