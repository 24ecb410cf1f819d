"""Groups, their members and join requests."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Integer, Select, and_, bindparam, delete, func, insert, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from rapport.domain.model import GroupId, GroupRole, GroupVisibility, Member, MemberId
from rapport.store.members import PUBLIC_COLUMNS, member_from_row
from rapport.store.prepared import Prepared
from rapport.store.tables import group_members, group_requests, groups, members


@dataclass(frozen=True, slots=True)
class GroupRow:
    """A group as one viewer sees it: with their role, or their pending request."""

    id: GroupId
    name: str
    description: str
    visibility: GroupVisibility
    member_count: int
    role: GroupRole | None
    requested: bool


async def add_group(
    conn: AsyncConnection, *, name: str, description: str, visibility: GroupVisibility, at: datetime
) -> GroupId:
    group_id = (
        await conn.execute(
            insert(groups)
            .values(name=name, description=description, visibility=visibility.value, created_at=at)
            .returning(groups.c.id)
        )
    ).scalar_one()
    return GroupId(group_id)


_MINE = group_members.alias("mine")
_ASKED = group_requests.alias("asked")
_COUNTS = (
    select(group_members.c.group_id, func.count().label("member_count")).group_by(group_members.c.group_id).subquery()
)


def _for_viewer(viewer_id: int) -> Select[Any]:
    """Groups with their member count and the viewer's role and request: one statement, no
    query per group."""
    return select(
        groups.c.id,
        groups.c.name,
        groups.c.description,
        groups.c.visibility,
        func.coalesce(_COUNTS.c.member_count, 0).label("member_count"),
        _MINE.c.role,
        _ASKED.c.member_id.label("requested_by"),
    ).select_from(
        groups.outerjoin(_COUNTS, _COUNTS.c.group_id == groups.c.id)
        .outerjoin(_MINE, and_(_MINE.c.group_id == groups.c.id, _MINE.c.member_id == viewer_id))
        .outerjoin(_ASKED, and_(_ASKED.c.group_id == groups.c.id, _ASKED.c.member_id == viewer_id))
    )


def _group(m: Any) -> GroupRow:
    return GroupRow(
        id=GroupId(m["id"]),
        name=m["name"],
        description=m["description"],
        visibility=GroupVisibility(m["visibility"]),
        member_count=int(m["member_count"]),
        role=GroupRole(m["role"]) if m["role"] else None,
        requested=m["requested_by"] is not None,
    )


async def get_group(conn: AsyncConnection, *, group_id: int, viewer_id: int) -> GroupRow | None:
    row = (await conn.execute(_for_viewer(viewer_id).where(groups.c.id == group_id))).first()
    return _group(row._mapping) if row else None


async def list_groups(
    conn: AsyncConnection, *, viewer_id: int, mine: bool, query: str | None, limit: int = 200
) -> list[GroupRow]:
    """Groups by name; `mine`: those the viewer belongs to or asked to join; `query`: name contains."""
    stmt = _for_viewer(viewer_id).order_by(groups.c.name, groups.c.id).limit(limit)
    if mine:
        stmt = stmt.where(or_(_MINE.c.role.is_not(None), _ASKED.c.member_id.is_not(None)))
    if query:
        pattern = "%" + query.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        stmt = stmt.where(func.lower(groups.c.name).like(pattern, escape="\\"))
    return [_group(r._mapping) for r in await conn.execute(stmt)]


_ROLE = Prepared(
    select(group_members.c.role).where(
        group_members.c.group_id == bindparam("group_id"), group_members.c.member_id == bindparam("member_id")
    )
)


async def role_of(conn: AsyncConnection, *, group_id: int, member_id: int) -> GroupRole | None:
    value = await _ROLE.scalar(conn, group_id=group_id, member_id=member_id)
    return GroupRole(value) if value else None


async def add_member(conn: AsyncConnection, *, group_id: int, member_id: int, role: GroupRole, at: datetime) -> None:
    await conn.execute(
        insert(group_members).values(group_id=group_id, member_id=member_id, role=role.value, joined_at=at)
    )


async def save_role(conn: AsyncConnection, *, group_id: int, member_id: int, role: GroupRole) -> None:
    await conn.execute(
        group_members.update()
        .where(group_members.c.group_id == group_id, group_members.c.member_id == member_id)
        .values(role=role.value)
    )


async def remove_member(conn: AsyncConnection, *, group_id: int, member_id: int) -> bool:
    result = await conn.execute(
        delete(group_members).where(group_members.c.group_id == group_id, group_members.c.member_id == member_id)
    )
    return bool(result.rowcount)


async def count_members(conn: AsyncConnection, *, group_id: int, role: GroupRole | None = None) -> int:
    stmt = select(func.count()).where(group_members.c.group_id == group_id)
    if role is not None:
        stmt = stmt.where(group_members.c.role == role.value)
    return int(await conn.scalar(stmt) or 0)


async def list_handlers(conn: AsyncConnection, *, group_id: int) -> list[MemberId]:
    """The group's admins and managers: who hears of join requests."""
    rows = await conn.execute(
        select(group_members.c.member_id).where(
            group_members.c.group_id == group_id,
            group_members.c.role.in_([GroupRole.ADMIN.value, GroupRole.MANAGER.value]),
        )
    )
    return [MemberId(r[0]) for r in rows]


_ROLES = {role.value: role for role in GroupRole}
_MEMBERS_PAGE = Prepared(
    select(group_members.c.role.label("group_role"), *PUBLIC_COLUMNS)
    .select_from(group_members.join(members, members.c.id == group_members.c.member_id))
    .where(group_members.c.group_id == bindparam("group_id"), group_members.c.member_id > bindparam("after"))
    .order_by(group_members.c.member_id)
    .limit(bindparam("limit", type_=Integer()))
)


async def list_members_page(
    conn: AsyncConnection, *, group_id: int, after: int, limit: int
) -> list[tuple[Member, GroupRole]]:
    """A page of members in id order, after member id `after`: a range read of the primary key,
    with each member's profile in the same statement."""
    rows = await _MEMBERS_PAGE.rows(conn, group_id=group_id, after=after, limit=limit)
    return [(member_from_row(r, 1), _ROLES[r[0]]) for r in rows]


async def add_request(conn: AsyncConnection, *, group_id: int, member_id: int, at: datetime) -> None:
    await conn.execute(insert(group_requests).values(group_id=group_id, member_id=member_id, requested_at=at))


async def remove_request(conn: AsyncConnection, *, group_id: int, member_id: int) -> bool:
    result = await conn.execute(
        delete(group_requests).where(group_requests.c.group_id == group_id, group_requests.c.member_id == member_id)
    )
    return bool(result.rowcount)


async def list_requests(conn: AsyncConnection, *, group_id: int, limit: int = 500) -> list[tuple[MemberId, datetime]]:
    """Pending requests, oldest first."""
    rows = await conn.execute(
        select(group_requests.c.member_id, group_requests.c.requested_at)
        .where(group_requests.c.group_id == group_id)
        .order_by(group_requests.c.requested_at, group_requests.c.member_id)
        .limit(limit)
    )
    return [(MemberId(m), at) for m, at in rows]


async def members_among(conn: AsyncConnection, *, group_id: int, ids: Iterable[int]) -> set[MemberId]:
    """Those of `ids` who belong to the group."""
    wanted = set(ids)
    if not wanted:
        return set()
    rows = await conn.execute(
        select(group_members.c.member_id).where(
            group_members.c.group_id == group_id, group_members.c.member_id.in_(wanted)
        )
    )
    return {MemberId(r[0]) for r in rows}
