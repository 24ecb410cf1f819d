"""Reports and moderation (DESIGN §1, API.md "Safety").

- A member may report a conversation they are in, once: reason, an optional note, and
  optionally a block of the reported member in the same step.
- The conversation leaves the reporter's inbox (as deleting it for oneself does).
- The reported member learns nothing: no event, no count, no change they could see.
- The operator (admin token) works a queue of reports, each with the conversation's
  messages, and resolves each by dismissing it or suspending the reported member.
- A suspended member cannot sign in (403 `suspended`), their sessions end at once on every
  process (tokens 401, sockets closed), and their messages stay for the others.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from rapport.domain.errors import Conflict, NotFound
from rapport.domain.events import EventType
from rapport.domain.model import Member, MemberId
from rapport.services import connections as connection_service
from rapport.services.context import Context
from rapport.services.sessions import end_sessions, forget_member
from rapport.services.shapes import iso, member_json, message_json
from rapport.services.uow import UnitOfWork
from rapport.store import conversations, members, reports
from rapport.store import messages as message_store
from rapport.store.conversations import ConversationRow

REASONS = ("spam", "harassment", "inappropriate", "other")
ACTIONS = ("dismiss", "suspend")
STATES = ("open", "resolved")
QUEUE_PAGE = 50
MESSAGES_SHOWN = 200
"""A moderator sees the newest messages of a reported conversation, up to this many."""


async def report(
    ctx: Context, viewer: Member, *, conversation_id: int, reason: str, note: str | None, block: bool
) -> dict[str, Any]:
    """Record a report for moderators; the thread leaves the reporter's inbox; optionally block."""
    async with UnitOfWork(ctx) as uow:
        conversation = await _own(uow.conn, viewer.id, conversation_id)
        reported = await _reported(uow.conn, conversation, viewer.id)
        row = await reports.add(
            uow.conn,
            reporter_id=viewer.id,
            reported_id=reported,
            conversation_id=conversation.id,
            reason=reason,
            note=note or None,
            at=uow.now,
        )
        if row is None:
            raise Conflict("You already reported this conversation.", code="already_reported")
        await conversations.hide_for(
            uow.conn, conversation_id=conversation.id, member_id=viewer.id, through=conversation.last_message_id or 0
        )
        uow.emit(EventType.CONVERSATION_REMOVED, [viewer.id], {"conversation_id": str(conversation.id)})
        if block and reported is not None:
            other = await members.get(uow.conn, member_id=reported)
            if other is not None:
                await connection_service.block_in(uow, viewer, other)
    return {"id": str(row.id), "state": row.state}


async def _own(conn: AsyncConnection, viewer: MemberId, conversation_id: int) -> ConversationRow:
    conversation = await conversations.get(conn, conversation_id=conversation_id)
    if conversation is None or not await conversations.get_participant(
        conn, conversation_id=conversation_id, member_id=viewer
    ):
        raise NotFound("No such conversation.", code="conversation_not_found")
    return conversation


async def _reported(conn: AsyncConnection, conversation: ConversationRow, reporter: MemberId) -> MemberId | None:
    """Whom a report is about: the other member of a 1:1; in a group, the last other sender
    (else whoever started it)."""
    others = [m for m in await conversations.participant_ids(conn, conversation_id=conversation.id) if m != reporter]
    if len(others) == 1:
        return others[0]
    sender = await reports.last_sender_other_than(conn, conversation_id=conversation.id, member_id=reporter)
    if sender is not None:
        return sender
    creator = conversation.created_by
    return creator if creator is not None and creator != reporter else None


# --- the operator's queue ---------------------------------------------------------------------


async def list_reports(ctx: Context, *, state: str) -> list[dict[str, Any]]:
    """The queue, oldest first, each report with its conversation's newest messages."""
    async with ctx.db.read() as conn:
        rows = await reports.list_by_state(conn, state=state, limit=QUEUE_PAGE)
        threads = {
            row.id: await message_store.list_page(
                conn, conversation_id=row.conversation_id, after=0, before=None, limit=MESSAGES_SHOWN
            )
            for row in rows
        }
        ids = {r.reported_id for r in rows if r.reported_id} | {
            m.sender_id for thread in threads.values() for m in thread if m.sender_id
        }
        people = await members.list_by_ids(conn, ids=ids)
    return [_report_json(row, people, threads[row.id]) for row in rows]


def _report_json(row: reports.ReportRow, people: dict[MemberId, Member], thread: list[Any]) -> dict[str, Any]:
    reported = people.get(row.reported_id) if row.reported_id else None
    return {
        "id": str(row.id),
        "reason": row.reason,
        "note": row.note,
        "conversation_id": str(row.conversation_id),
        "reported": member_json(reported) if reported else None,
        "messages": [message_json(m, viewer=MemberId(0), members=people) for m in thread],
        "created_at": iso(row.created_at),
        "state": row.state,
        "action": row.action,
        "resolved_at": iso(row.resolved_at),
    }


async def resolve(ctx: Context, *, report_id: int, action: str) -> dict[str, Any]:
    """Dismiss a report, or suspend the member it is about."""
    async with UnitOfWork(ctx) as uow:
        row = await reports.get(uow.conn, report_id=report_id)
        if row is None:
            raise NotFound("No such report.", code="report_not_found")
        if not await reports.resolve(uow.conn, report_id=report_id, action=action, at=uow.now):
            raise Conflict("This report was already resolved.", code="report_resolved")
        suspended = row.reported_id if action == "suspend" else None
        if suspended is not None:
            await _suspend(uow.conn, suspended, uow)
        resolved = await reports.get(uow.conn, report_id=report_id)
        ids = [m for m in (resolved.reported_id,) if m] if resolved else []
        people = await members.list_by_ids(uow.conn, ids=ids)
    if suspended is not None:
        await end_sessions(ctx, suspended)
    assert resolved is not None
    return _report_json(resolved, people, [])


async def suspend(ctx: Context, *, handle: str) -> dict[str, Any]:
    """Suspend a member: no sign-in, every session ended on every process; messages stay."""
    async with UnitOfWork(ctx) as uow:
        member = await _by_handle(uow.conn, handle)
        await _suspend(uow.conn, member.id, uow)
    await end_sessions(ctx, member.id)
    return {**member_json(member), "suspended": True}


async def unsuspend(ctx: Context, *, handle: str) -> dict[str, Any]:
    """Lift a suspension: the member may sign in again (old sessions stay ended)."""
    async with ctx.db.write() as conn:
        member = await _by_handle(conn, handle)
        await reports.set_suspended(conn, member_id=member.id, at=None)
    await forget_member(ctx, member.id)
    return {**member_json(member), "suspended": False}


async def _by_handle(conn: AsyncConnection, handle: str) -> Member:
    member = await members.get_by_handle(conn, handle=handle)
    if member is None:
        raise NotFound("No such member.", code="member_not_found")
    return member


async def _suspend(conn: AsyncConnection, member_id: MemberId, uow: UnitOfWork) -> None:
    if not await reports.is_suspended(conn, member_id=member_id):
        await reports.set_suspended(conn, member_id=member_id, at=uow.now)
    await members.delete_tokens(conn, member_id=member_id)
