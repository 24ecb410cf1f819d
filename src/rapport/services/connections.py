"""Invitations, connections and blocks."""

from __future__ import annotations

import math
from typing import Any

from rapport.domain.errors import Conflict, Invalid, LimitExceeded, NotFound, NotPermitted
from rapport.domain.events import EventType
from rapport.domain.limits import INVITATION_NOTE_MAX, INVITATION_WINDOW
from rapport.domain.model import Invitation, InvitationState, Member, MemberId
from rapport.services import notifications
from rapport.services.context import Context
from rapport.services.shapes import invitation_json, member_json
from rapport.services.uow import UnitOfWork
from rapport.store import members, social


async def _other(conn: Any, viewer: Member, handle: str) -> Member:
    member = await members.get_by_handle(conn, handle=handle)
    if member is None:
        raise NotFound("No such member.", code="member_not_found")
    return member


async def invite(ctx: Context, viewer: Member, *, to: str, note: str | None) -> dict[str, Any]:
    """Invite a member to connect, within the weekly limit."""
    if note is not None:
        note = note.strip() or None
    if note is not None and len(note) > INVITATION_NOTE_MAX:
        raise Invalid(
            f"An invitation note may have at most {INVITATION_NOTE_MAX} characters.",
            code="note_too_long",
        )
    async with UnitOfWork(ctx) as uow:
        other = await _other(uow.conn, viewer, to)
        if other.id == viewer.id:
            raise Invalid("You cannot invite yourself.", code="cannot_invite_self")
        if await social.is_blocked_either_way(uow.conn, a=viewer.id, b=other.id):
            raise NotPermitted("You cannot invite this member.", code="blocked")
        if await social.are_connected(uow.conn, a=viewer.id, b=other.id):
            raise Conflict("You are already connected.", code="already_connected")
        if await social.open_invitation(uow.conn, from_id=viewer.id, to_id=other.id):
            raise Conflict("You already invited this member.", code="invitation_pending")
        if await social.open_invitation(uow.conn, from_id=other.id, to_id=viewer.id):
            raise Conflict(
                "This member already invited you: accept their invitation.",
                code="invitation_received",
            )
        count, oldest = await social.sent_since(uow.conn, from_id=viewer.id, since=uow.now - INVITATION_WINDOW)
        if count >= ctx.settings.weekly_invitation_limit:
            retry = math.ceil(((oldest or uow.now) + INVITATION_WINDOW - uow.now).total_seconds())
            raise LimitExceeded(
                f"You reached the weekly limit of {ctx.settings.weekly_invitation_limit} invitations.",
                code="invitation_limit",
                retry_after=max(retry, 1),
            )
        invitation = await social.add_invitation(uow.conn, from_id=viewer.id, to_id=other.id, note=note, at=uow.now)
        people = {viewer.id: viewer, other.id: other}
        uow.emit(
            EventType.INVITATION_NEW,
            [other.id],
            {"invitation": invitation_json(invitation, viewer=other.id, members=people)},
        )
        await notifications.add(
            uow, member_id=other.id, kind="invitation_received", actor=viewer, subject_id=invitation.id
        )
    return invitation_json(invitation, viewer=viewer.id, members=people)


async def list_invitations(ctx: Context, viewer: Member, *, direction: str) -> list[dict[str, Any]]:
    if direction not in ("received", "sent"):
        raise Invalid("direction is received or sent.", code="invalid_direction")
    received = direction == "received"
    # The sender sees a declined invitation as pending; the recipient no longer sees it.
    states = [InvitationState.PENDING] if received else [InvitationState.PENDING, InvitationState.DECLINED]
    async with ctx.db.read() as conn:
        found = await social.list_invitations(conn, member_id=viewer.id, received=received, states=states)
        people = await members.list_by_ids(conn, ids={i.from_id for i in found} | {i.to_id for i in found})
    return [invitation_json(i, viewer=viewer.id, members=people) for i in found]


async def respond(ctx: Context, viewer: Member, *, invitation_id: int, action: str) -> dict[str, Any]:
    """accept / decline (recipient) or withdraw (sender). Declining is silent."""
    async with UnitOfWork(ctx) as uow:
        invitation = await social.get_invitation(uow.conn, invitation_id=invitation_id)
        if invitation is None or viewer.id not in (invitation.from_id, invitation.to_id):
            raise NotFound("No such invitation.", code="invitation_not_found")
        people = await members.list_by_ids(uow.conn, ids=[invitation.from_id, invitation.to_id])
        new_state = _transition(invitation, viewer.id, action)
        await social.set_invitation_state(uow.conn, invitation_id=invitation.id, state=new_state, at=uow.now)
        updated = _with_state(invitation, new_state)
        if new_state is InvitationState.ACCEPTED:
            if await social.is_blocked_either_way(uow.conn, a=invitation.from_id, b=invitation.to_id):
                raise NotPermitted("You cannot connect with this member.", code="blocked")
            if not await social.are_connected(uow.conn, a=invitation.from_id, b=invitation.to_id):
                await social.connect(uow.conn, a=invitation.from_id, b=invitation.to_id, at=uow.now)
            uow.emit(
                EventType.INVITATION_ACCEPTED,
                [invitation.from_id],
                {
                    "invitation": invitation_json(updated, viewer=invitation.from_id, members=people),
                    "member": member_json(people[invitation.to_id]),
                },
            )
            await notifications.add(
                uow,
                member_id=invitation.from_id,
                kind="invitation_accepted",
                actor=people[invitation.to_id],
                subject_id=invitation.id,
            )
    return invitation_json(updated, viewer=viewer.id, members=people)


def _with_state(invitation: Invitation, state: InvitationState) -> Invitation:
    return Invitation(
        id=invitation.id,
        from_id=invitation.from_id,
        to_id=invitation.to_id,
        note=invitation.note,
        state=state,
        created_at=invitation.created_at,
    )


def _transition(invitation: Invitation, viewer: MemberId, action: str) -> InvitationState:
    state = invitation.state
    if action in ("accept", "decline"):
        if viewer != invitation.to_id:
            raise NotPermitted("Only the invited member may answer an invitation.", code="not_recipient")
        if state is not InvitationState.PENDING:
            raise Conflict(f"This invitation is {state.value}.", code="invitation_closed")
        return InvitationState.ACCEPTED if action == "accept" else InvitationState.DECLINED
    if action == "withdraw":
        if viewer != invitation.from_id:
            raise NotPermitted("Only the sender may withdraw an invitation.", code="not_sender")
        if state not in (InvitationState.PENDING, InvitationState.DECLINED):
            raise Conflict(f"This invitation is {state.value}.", code="invitation_closed")
        return InvitationState.WITHDRAWN
    raise Invalid("Unknown action.", code="invalid_action")


async def list_connections(ctx: Context, viewer: Member) -> list[Member]:
    async with ctx.db.read() as conn:
        ids = await social.list_connection_ids(conn, member_id=viewer.id)
        people = await members.list_by_ids(conn, ids=ids)
    return sorted((people[i] for i in ids if i in people), key=lambda m: m.name.lower())


async def _related(conn: Any, handle: str, *, unrelated: NotFound) -> Member:
    """The member behind `handle`, where an unknown handle gets the same answer as an
    unrelated member: whether a handle exists (say, of someone who blocked you, whose profile
    is hidden) is never learnt from a route about a relation."""
    member = await members.get_by_handle(conn, handle=handle)
    if member is None:
        raise unrelated
    return member


def _not_connected() -> NotFound:
    return NotFound("You are not connected with this member.", code="not_connected")


def _not_blocked() -> NotFound:
    return NotFound("You have not blocked this member.", code="not_blocked")


async def remove_connection(ctx: Context, viewer: Member, *, handle: str) -> None:
    async with UnitOfWork(ctx) as uow:
        other = await _related(uow.conn, handle, unrelated=_not_connected())
        if not await social.disconnect(uow.conn, a=viewer.id, b=other.id):
            raise _not_connected()
        uow.emit(EventType.CONNECTION_REMOVED, [viewer.id], {"member": member_json(other)})


async def block(ctx: Context, viewer: Member, *, handle: str) -> Member:
    """Block a member: it also ends the connection and any open invitation between the two."""
    async with UnitOfWork(ctx) as uow:
        other = await _other(uow.conn, viewer, handle)
        await block_in(uow, viewer, other)
    return other


async def block_in(uow: UnitOfWork, viewer: Member, other: Member) -> None:
    """Block within a unit of work (a report may block in the same step)."""
    if other.id == viewer.id:
        raise Invalid("You cannot block yourself.", code="cannot_block_self")
    await social.add_block(uow.conn, blocker=viewer.id, blocked=other.id, at=uow.now)
    if await social.disconnect(uow.conn, a=viewer.id, b=other.id):
        uow.emit(EventType.CONNECTION_REMOVED, [viewer.id], {"member": member_json(other)})
    await social.close_pending_between(uow.conn, a=viewer.id, b=other.id, at=uow.now)


async def unblock(ctx: Context, viewer: Member, *, handle: str) -> None:
    async with ctx.db.write() as conn:
        other = await _related(conn, handle, unrelated=_not_blocked())
        if not await social.remove_block(conn, blocker=viewer.id, blocked=other.id):
            raise _not_blocked()


async def list_blocked(ctx: Context, viewer: Member) -> list[Member]:
    async with ctx.db.read() as conn:
        ids = await social.list_blocked_ids(conn, blocker=viewer.id)
        people = await members.list_by_ids(conn, ids=ids)
    return [people[i] for i in ids if i in people]
