"""Connections, blocks, invitations and groups: the graph the messaging policy reads."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import and_, bindparam, delete, func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from rapport.domain.model import (
    Invitation,
    InvitationId,
    InvitationState,
    MemberId,
)
from rapport.store.prepared import Prepared, in_ids
from rapport.store.tables import blocks, connections, group_members, invitations

# --- connections -----------------------------------------------------------------------


async def are_connected(conn: AsyncConnection, *, a: int, b: int) -> bool:
    return (await conn.scalar(select(1).where(connections.c.member_id == a, connections.c.other_id == b))) is not None


async def connected_among(conn: AsyncConnection, *, member_id: int, others: Iterable[int]) -> set[int]:
    ids = set(others)
    if not ids:
        return set()
    rows = await conn.execute(
        select(connections.c.other_id).where(connections.c.member_id == member_id, connections.c.other_id.in_(ids))
    )
    return {r[0] for r in rows}


async def connect(conn: AsyncConnection, *, a: int, b: int, at: datetime) -> None:
    await conn.execute(
        insert(connections),
        [
            {"member_id": a, "other_id": b, "created_at": at},
            {"member_id": b, "other_id": a, "created_at": at},
        ],
    )


async def disconnect(conn: AsyncConnection, *, a: int, b: int) -> bool:
    result = await conn.execute(
        delete(connections).where(
            or_(
                and_(connections.c.member_id == a, connections.c.other_id == b),
                and_(connections.c.member_id == b, connections.c.other_id == a),
            )
        )
    )
    return bool(result.rowcount)


async def list_connection_ids(conn: AsyncConnection, *, member_id: int) -> list[MemberId]:
    rows = await conn.execute(
        select(connections.c.other_id)
        .where(connections.c.member_id == member_id)
        .order_by(connections.c.created_at.desc())
    )
    return [MemberId(r[0]) for r in rows]


async def have_mutual_connection(conn: AsyncConnection, *, a: int, b: int) -> bool:
    """Second degree: some connection of `a` is connected to `b` (one indexed join)."""
    first = connections.alias("first")
    second = connections.alias("second")
    return (
        await conn.scalar(
            select(1)
            .select_from(first.join(second, second.c.member_id == first.c.other_id))
            .where(first.c.member_id == a, second.c.other_id == b)
            .limit(1)
        )
    ) is not None


# --- blocks ----------------------------------------------------------------------------


_BLOCKED_BY_MEMBER = select(blocks.c.blocked_id).where(
    blocks.c.blocker_id == bindparam("member"), in_ids(blocks.c.blocked_id, "others")
)
_BLOCKING_MEMBER = select(blocks.c.blocker_id).where(
    blocks.c.blocked_id == bindparam("member"), in_ids(blocks.c.blocker_id, "others")
)
_BLOCKED_AMONG = Prepared(_BLOCKED_BY_MEMBER.union(_BLOCKING_MEMBER))


async def blocked_among(conn: AsyncConnection, *, member_id: int, others: Iterable[int]) -> set[int]:
    """Those of `others` with a block between them and `member_id`, in either direction."""
    ids = set(others)
    if not ids:
        return set()
    return {r[0] for r in await _BLOCKED_AMONG.rows(conn, member=member_id, others=ids)}


_BLOCK_BETWEEN = Prepared(
    select(blocks.c.blocker_id)
    .where(
        or_(
            and_(blocks.c.blocker_id == bindparam("a"), blocks.c.blocked_id == bindparam("b")),
            and_(blocks.c.blocker_id == bindparam("b"), blocks.c.blocked_id == bindparam("a")),
        )
    )
    .limit(1)
)


async def is_blocked_either_way(conn: AsyncConnection, *, a: int, b: int) -> bool:
    return await _BLOCK_BETWEEN.first(conn, a=a, b=b) is not None


async def blocked_pairs_among(conn: AsyncConnection, *, ids: Iterable[int]) -> set[frozenset[MemberId]]:
    people = set(ids)
    if len(people) < 2:
        return set()
    rows = await conn.execute(
        select(blocks.c.blocker_id, blocks.c.blocked_id).where(
            blocks.c.blocker_id.in_(people), blocks.c.blocked_id.in_(people)
        )
    )
    return {frozenset((MemberId(a), MemberId(b))) for a, b in rows}


async def add_block(conn: AsyncConnection, *, blocker: int, blocked: int, at: datetime) -> bool:
    exists = await conn.scalar(select(1).where(blocks.c.blocker_id == blocker, blocks.c.blocked_id == blocked))
    if exists:
        return False
    await conn.execute(insert(blocks).values(blocker_id=blocker, blocked_id=blocked, created_at=at))
    return True


async def remove_block(conn: AsyncConnection, *, blocker: int, blocked: int) -> bool:
    result = await conn.execute(delete(blocks).where(blocks.c.blocker_id == blocker, blocks.c.blocked_id == blocked))
    return bool(result.rowcount)


async def list_blocked_ids(conn: AsyncConnection, *, blocker: int) -> list[MemberId]:
    rows = await conn.execute(
        select(blocks.c.blocked_id).where(blocks.c.blocker_id == blocker).order_by(blocks.c.created_at.desc())
    )
    return [MemberId(r[0]) for r in rows]


# --- invitations -----------------------------------------------------------------------


def _to_invitation(row: object) -> Invitation:
    r = row._mapping  # type: ignore[attr-defined]
    return Invitation(
        id=InvitationId(r["id"]),
        from_id=MemberId(r["from_id"]),
        to_id=MemberId(r["to_id"]),
        note=r["note"],
        state=InvitationState(r["state"]),
        created_at=r["created_at"],
    )


_INVITATION = (
    invitations.c.id,
    invitations.c.from_id,
    invitations.c.to_id,
    invitations.c.note,
    invitations.c.state,
    invitations.c.created_at,
)


async def add_invitation(
    conn: AsyncConnection, *, from_id: int, to_id: int, note: str | None, at: datetime
) -> Invitation:
    row = (
        await conn.execute(
            insert(invitations)
            .values(
                from_id=from_id,
                to_id=to_id,
                note=note,
                state=InvitationState.PENDING.value,
                created_at=at,
            )
            .returning(*_INVITATION)
        )
    ).one()
    return _to_invitation(row)


async def get_invitation(conn: AsyncConnection, *, invitation_id: int) -> Invitation | None:
    row = (await conn.execute(select(*_INVITATION).where(invitations.c.id == invitation_id))).first()
    return _to_invitation(row) if row else None


async def open_invitation(conn: AsyncConnection, *, from_id: int, to_id: int) -> Invitation | None:
    """An invitation still open as its sender sees it: pending, or declined (shown pending)."""
    row = (
        await conn.execute(
            select(*_INVITATION)
            .where(
                invitations.c.from_id == from_id,
                invitations.c.to_id == to_id,
                invitations.c.state.in_([InvitationState.PENDING.value, InvitationState.DECLINED.value]),
            )
            .order_by(invitations.c.id.desc())
            .limit(1)
        )
    ).first()
    return _to_invitation(row) if row else None


async def sent_since(conn: AsyncConnection, *, from_id: int, since: datetime) -> tuple[int, datetime | None]:
    """How many invitations `from_id` sent since `since`, and the oldest of them."""
    row = (
        await conn.execute(
            select(func.count(), func.min(invitations.c.created_at)).where(
                invitations.c.from_id == from_id, invitations.c.created_at > since
            )
        )
    ).one()
    oldest = row[1]
    if isinstance(oldest, str):  # SQLite returns MIN() of a datetime column as text
        from rapport.store.types import UTCDateTime

        oldest = UTCDateTime().process_result_value(oldest, conn.dialect)
    return int(row[0]), oldest


async def list_invitations(
    conn: AsyncConnection, *, member_id: int, received: bool, states: Iterable[InvitationState]
) -> list[Invitation]:
    column = invitations.c.to_id if received else invitations.c.from_id
    rows = await conn.execute(
        select(*_INVITATION)
        .where(column == member_id, invitations.c.state.in_([s.value for s in states]))
        .order_by(invitations.c.id.desc())
        .limit(500)
    )
    return [_to_invitation(r) for r in rows]


async def set_invitation_state(
    conn: AsyncConnection, *, invitation_id: int, state: InvitationState, at: datetime
) -> None:
    await conn.execute(
        update(invitations).where(invitations.c.id == invitation_id).values(state=state.value, responded_at=at)
    )


async def mark_invitation_viewed(conn: AsyncConnection, *, invitation_id: int, at: datetime) -> bool:
    result = await conn.execute(
        update(invitations)
        .where(invitations.c.id == invitation_id, invitations.c.viewed_at.is_(None))
        .values(viewed_at=at)
    )
    return bool(result.rowcount)


async def close_pending_between(conn: AsyncConnection, *, a: int, b: int, at: datetime) -> None:
    """A block withdraws whatever invitations are open between the pair."""
    await conn.execute(
        update(invitations)
        .where(
            or_(
                and_(invitations.c.from_id == a, invitations.c.to_id == b),
                and_(invitations.c.from_id == b, invitations.c.to_id == a),
            ),
            invitations.c.state.in_([InvitationState.PENDING.value, InvitationState.DECLINED.value]),
        )
        .values(state=InvitationState.WITHDRAWN.value, responded_at=at)
    )


# --- groups ----------------------------------------------------------------------------


async def sharing_a_group(conn: AsyncConnection, *, member_id: int, others: Iterable[int]) -> set[int]:
    """Those of `others` who belong to at least one group with `member_id`."""
    ids = set(others)
    if not ids:
        return set()
    mine = group_members.alias("mine")
    theirs = group_members.alias("theirs")
    rows = await conn.execute(
        select(theirs.c.member_id)
        .distinct()
        .select_from(mine.join(theirs, theirs.c.group_id == mine.c.group_id))
        .where(mine.c.member_id == member_id, theirs.c.member_id.in_(ids))
    )
    return {r[0] for r in rows}
