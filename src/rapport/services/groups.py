"""Groups: create, find, join or request, handle requests, members, roles, leave (DESIGN §2).

The rules are in domain/groups.py; this module loads the facts, writes, and announces:
a request notifies the group's admins and managers (`group_request`), an approval
notifies the member (`group_approved`), both in-app through services/notifications.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from rapport.domain.errors import Conflict, Invalid, NotFound, NotPermitted
from rapport.domain.groups import MembershipState, join_state, may_change_role, may_handle_requests, may_leave
from rapport.domain.limits import GROUP_DESCRIPTION_MAX, GROUP_NAME_MAX
from rapport.domain.model import GroupRole, GroupVisibility, Member
from rapport.domain.policy import Refusal
from rapport.services import notifications
from rapport.services.context import Context
from rapport.services.shapes import iso, member_json
from rapport.services.uow import UnitOfWork
from rapport.store import groups, members
from rapport.store.groups import GroupRow

MEMBERS_PAGE_MAX = 100


def group_json(group: GroupRow) -> dict[str, Any]:
    return {
        "id": str(group.id),
        "name": group.name,
        "description": group.description,
        "visibility": group.visibility.value,
        "member_count": group.member_count,
        "role": group.role.value if group.role else None,
        "requested": group.requested,
    }


def _refuse(refusal: Refusal | None) -> None:
    if refusal is not None:
        error = Conflict if refusal.reason == "last_admin" else NotPermitted
        raise error(refusal.message, code=refusal.reason)


async def _group(conn: AsyncConnection, viewer: Member, group_id: int) -> GroupRow:
    group = await groups.get_group(conn, group_id=group_id, viewer_id=viewer.id)
    if group is None:
        raise NotFound("No such group.", code="group_not_found")
    return group


async def _member(conn: AsyncConnection, handle: str, *, unrelated: NotFound) -> Member:
    """The member behind `handle`; an unknown handle answers like an unrelated member, so no
    route tells whether a handle exists."""
    member = await members.get_by_handle(conn, handle=handle.strip().lower())
    if member is None:
        raise unrelated
    return member


def _no_request() -> NotFound:
    return NotFound("That member has no pending request to join this group.", code="request_not_found")


def _not_in_group() -> NotFound:
    return NotFound("That member is not in the group.", code="not_a_member")


def _visibility(value: str | None) -> GroupVisibility:
    try:
        return GroupVisibility(value or GroupVisibility.REQUEST.value)
    except ValueError as exc:
        raise Invalid("visibility is open or request.", code="invalid_visibility") from exc


async def create_group(
    ctx: Context, viewer: Member, *, name: str, description: str, visibility: str | None = None
) -> dict[str, Any]:
    """A new group, with its creator as its first admin."""
    name = name.strip()
    if not name or len(name) > GROUP_NAME_MAX:
        raise Invalid(f"A group name has 1-{GROUP_NAME_MAX} characters.", code="invalid_name")
    if len(description) > GROUP_DESCRIPTION_MAX:
        raise Invalid(f"A description has at most {GROUP_DESCRIPTION_MAX:,} characters.", code="invalid_description")
    kind = _visibility(visibility)
    async with UnitOfWork(ctx) as uow:
        group_id = await groups.add_group(uow.conn, name=name, description=description, visibility=kind, at=uow.now)
        await groups.add_member(uow.conn, group_id=group_id, member_id=viewer.id, role=GroupRole.ADMIN, at=uow.now)
        group = await _group(uow.conn, viewer, group_id)
    return group_json(group)


async def list_groups(ctx: Context, viewer: Member, *, mine: bool, query: str | None = None) -> list[dict[str, Any]]:
    """Groups by name (at most 200), each with the viewer's role or pending request."""
    query = (query or "").strip() or None
    async with ctx.db.read() as conn:
        rows = await groups.list_groups(conn, viewer_id=viewer.id, mine=mine, query=query)
    return [group_json(g) for g in rows]


async def get_group(ctx: Context, viewer: Member, *, group_id: int) -> dict[str, Any]:
    async with ctx.db.read() as conn:
        return group_json(await _group(conn, viewer, group_id))


async def join_group(ctx: Context, viewer: Member, *, group_id: int) -> dict[str, Any]:
    """Join an open group at once, or ask to join a request group (its admins and managers hear of it).

    Joining again is harmless: it answers the current state.
    """
    async with UnitOfWork(ctx) as uow:
        group = await _group(uow.conn, viewer, group_id)
        if group.role is not None:
            state = MembershipState.MEMBER
        elif group.requested:
            state = MembershipState.REQUESTED
        else:
            state = join_state(group.visibility)
            if state is MembershipState.MEMBER:
                await groups.add_member(
                    uow.conn, group_id=group.id, member_id=viewer.id, role=GroupRole.MEMBER, at=uow.now
                )
            else:
                await groups.add_request(uow.conn, group_id=group.id, member_id=viewer.id, at=uow.now)
                for handler in await groups.list_handlers(uow.conn, group_id=group.id):
                    await notifications.add(
                        uow, member_id=handler, kind="group_request", actor=viewer, subject_id=group.id
                    )
            group = await _group(uow.conn, viewer, group.id)
    return {"group": group_json(group), "membership": {"state": state.value}}


async def list_requests(ctx: Context, viewer: Member, *, group_id: int) -> list[dict[str, Any]]:
    """Pending join requests, oldest first: for the group's admins and managers only."""
    async with ctx.db.read() as conn:
        group = await _group(conn, viewer, group_id)
        _refuse(may_handle_requests(group.role))
        pending = await groups.list_requests(conn, group_id=group.id)
        people = await members.list_by_ids(conn, ids=[m for m, _ in pending])
    return [{"member": member_json(people[m]), "requested_at": iso(at)} for m, at in pending if m in people]


async def answer_request(ctx: Context, viewer: Member, *, group_id: int, handle: str, approve: bool) -> dict[str, Any]:
    """Approve (the member joins, and is told) or decline (silently) a join request."""
    async with UnitOfWork(ctx) as uow:
        group = await _group(uow.conn, viewer, group_id)
        _refuse(may_handle_requests(group.role))
        asker = await _member(uow.conn, handle, unrelated=_no_request())
        if not await groups.remove_request(uow.conn, group_id=group.id, member_id=asker.id):
            raise _no_request()
        if not approve:
            return {"membership": {"state": "declined"}}
        await groups.add_member(uow.conn, group_id=group.id, member_id=asker.id, role=GroupRole.MEMBER, at=uow.now)
        await notifications.add(uow, member_id=asker.id, kind="group_approved", actor=viewer, subject_id=group.id)
    return {"membership": {"state": MembershipState.MEMBER.value}}


def _member_cursor(cursor: str | None) -> int:
    if not cursor:
        return 0
    if not cursor.isascii() or not cursor.isdigit() or len(cursor) > 19:
        raise Invalid("That cursor is not one this server gave out.", code="invalid_cursor")
    return int(cursor)


async def list_members(
    ctx: Context, viewer: Member, *, group_id: int, cursor: str | None, limit: int
) -> dict[str, Any]:
    """A page of the group's members (members only see it), with a cursor for the next."""
    if not 1 <= limit <= MEMBERS_PAGE_MAX:
        raise Invalid(f"limit is between 1 and {MEMBERS_PAGE_MAX}.", code="invalid_limit")
    after = _member_cursor(cursor)
    async with ctx.db.read() as conn:
        role = await groups.role_of(conn, group_id=group_id, member_id=viewer.id)
        if role is None:
            await _group(conn, viewer, group_id)  # unknown group: 404
            raise NotPermitted("Only the group's members see who is in it.", code="group_members_only")
        rows = await groups.list_members_page(conn, group_id=group_id, after=after, limit=limit + 1)
    page = rows[:limit]
    return {
        "members": [{"member": member_json(m), "role": r.value} for m, r in page],
        "next_cursor": str(page[-1][0].id) if len(rows) > limit and page else None,
    }


async def leave_group(ctx: Context, viewer: Member, *, group_id: int) -> None:
    """Leave a group, or withdraw one's pending request; the last admin names another first."""
    async with UnitOfWork(ctx) as uow:
        group = await _group(uow.conn, viewer, group_id)
        if group.role is None:
            if not await groups.remove_request(uow.conn, group_id=group.id, member_id=viewer.id):
                raise NotFound("You are not a member of this group.", code="not_a_member")
            return
        admins = await groups.count_members(uow.conn, group_id=group.id, role=GroupRole.ADMIN)
        _refuse(
            may_leave(
                role=group.role,
                other_admins=admins - (group.role is GroupRole.ADMIN),
                other_members=group.member_count - 1,
            )
        )
        await groups.remove_member(uow.conn, group_id=group.id, member_id=viewer.id)


async def set_role(ctx: Context, viewer: Member, *, group_id: int, handle: str, role: str) -> dict[str, Any]:
    """A group admin names managers and admins (or makes one a member again)."""
    try:
        new_role = GroupRole(role)
    except ValueError as exc:
        raise Invalid("role is member, manager or admin.", code="invalid_role") from exc
    async with UnitOfWork(ctx) as uow:
        group = await _group(uow.conn, viewer, group_id)
        if group.role is not GroupRole.ADMIN:  # refused before the handle is looked at
            _refuse(may_change_role(actor=group.role, target_is_actor=False, new_role=new_role, other_admins=0))
        other = await _member(uow.conn, handle, unrelated=_not_in_group())
        admins = await groups.count_members(uow.conn, group_id=group.id, role=GroupRole.ADMIN)
        _refuse(
            may_change_role(
                actor=group.role,
                target_is_actor=other.id == viewer.id,
                new_role=new_role,
                other_admins=admins - (group.role is GroupRole.ADMIN),
            )
        )
        if await groups.role_of(uow.conn, group_id=group.id, member_id=other.id) is None:
            raise _not_in_group()
        await groups.save_role(uow.conn, group_id=group.id, member_id=other.id, role=new_role)
    return {"member": member_json(other), "role": new_role.value}
