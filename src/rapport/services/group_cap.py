"""The monthly cap on new group-member conversations: facts for the policy, and the count a
member sees ("N of 15 group messages left this month")."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from rapport.domain.model import ConversationKind, MemberId
from rapport.domain.policy import Refusal, group_messages_left, may_start_group_member_conversation, month_bounds
from rapport.services.shapes import iso
from rapport.store import conversations


async def started_this_month(conn: AsyncConnection, *, member_id: MemberId, now: datetime) -> int:
    start, _ = month_bounds(now)
    return await conversations.count_started(
        conn, created_by=member_id, kind=ConversationKind.GROUP_MEMBER, since=start
    )


async def check(conn: AsyncConnection, *, member_id: MemberId, now: datetime, monthly_limit: int) -> Refusal | None:
    """Refuse a new group-member conversation beyond this month's cap."""
    used = await started_this_month(conn, member_id=member_id, now=now)
    return may_start_group_member_conversation(started_this_month=used, monthly_limit=monthly_limit, now=now)


async def allowance(conn: AsyncConnection, *, member_id: MemberId, now: datetime, monthly_limit: int) -> dict[str, Any]:
    """`{limit, used, left, resets_at}` for GET /me."""
    used = await started_this_month(conn, member_id=member_id, now=now)
    _, resets = month_bounds(now)
    return {
        "limit": monthly_limit,
        "used": used,
        "left": group_messages_left(started_this_month=used, monthly_limit=monthly_limit),
        "resets_at": iso(resets),
    }
