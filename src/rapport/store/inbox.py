"""The inbox page's two statements, read as plain tuples.

A page is asked for on every start and reconnect of every client. Its rows used to become
dataclasses (a conversation, its participant row, each member, the last message) only to be
turned into JSON at once; here each statement returns exactly the columns the page shows, in a
fixed order, with nothing for the driver's results to convert (time columns come as the driver
hands them, flags as 0/1 on SQLite), so the service builds each conversation's JSON straight
from a row. The conversation's last message comes in the page's own statement (an outer join
on the conversation's `last_message_id`), and the members in one statement with the
participants, instead of four statements and the sets of ids passed between them.

What a member may see is decided here exactly as before: their own participant rows only, not
hidden, archived or not as the filter asks; a last message only past what they cleared.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Integer, String, and_, bindparam, or_, select, type_coerce
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql import ColumnElement

from rapport.domain.model import ConversationKind
from rapport.store.members import PROFILE_COLUMNS
from rapport.store.prepared import Prepared, in_ids
from rapport.store.tables import conversations, members, messages, participants
from rapport.store.types import UTCDateTime

INBOX_FILTERS = ("all", "unread", "archived", "inmail", "sponsored")


@dataclass(frozen=True, slots=True)
class InboxCursor:
    last_activity_at: datetime
    conversation_id: int


def _raw(column: Any) -> ColumnElement[Any]:
    """The column with no result conversion: times as the driver gives them (ISO text on
    SQLite), flags as integers (SQLite's 0/1; PostgreSQL's booleans stay booleans)."""
    if isinstance(column.type, UTCDateTime):
        return type_coerce(column, String()).label(f"{column.table.name}_{column.name}")
    if column.name in _FLAGS:
        return type_coerce(column, Integer()).label(f"{column.table.name}_{column.name}")
    labelled: ColumnElement[Any] = column.label(f"{column.table.name}_{column.name}")
    return labelled


_FLAGS = {"archived", "muted", "marked_unread", "deleted", "open_profile"}

c, p, m = conversations.c, participants.c, messages.c
PAGE_COLUMNS = (
    # The conversation and the member's own state in it.
    c.id,
    c.kind,
    c.subject,
    c.group_id,
    c.inmail_state,
    c.title,
    p.archived,
    p.muted,
    p.marked_unread,
    p.unread_count,
    p.last_activity_at,
    # Its last message (all None when there is none the member may see).
    m.id,
    m.conversation_id,
    m.sender_id,
    m.body,
    m.created_at,
    m.edited_at,
    m.deleted,
    m.client_id,
    m.attachment_count,
    m.mentions,
    m.system,
)
"""The columns of a page row, in order (see services/inbox.py)."""


def _page(filter: str, *, after: bool) -> Prepared:
    last = and_(m.id == c.last_message_id, m.id > p.cleared_through)
    stmt = (
        select(*[_raw(col) for col in PAGE_COLUMNS])
        .select_from(
            participants.join(conversations, c.id == p.conversation_id).outerjoin(messages, last),
        )
        .where(p.member_id == bindparam("member_id"), p.hidden.is_(False))
        .order_by(p.last_activity_at.desc(), p.conversation_id.desc())
        .limit(bindparam("limit", type_=Integer()))
    )
    stmt = stmt.where(p.archived.is_(filter == "archived"))
    if filter == "unread":
        stmt = stmt.where(or_(p.unread_count > 0, p.marked_unread.is_(True)))
    elif filter in ("inmail", "sponsored"):
        stmt = stmt.where(c.kind == ConversationKind(filter).value)
    if after:
        at = bindparam("after_at", type_=p.last_activity_at.type)
        stmt = stmt.where(
            or_(
                p.last_activity_at < at,
                and_(p.last_activity_at == at, p.conversation_id < bindparam("after_id", type_=Integer())),
            )
        )
    return Prepared(stmt)


_PAGES = {(f, after): _page(f, after=after) for f in INBOX_FILTERS for after in (False, True)}


async def page(
    conn: AsyncConnection, *, member_id: int, filter: str, limit: int, after: InboxCursor | None
) -> list[tuple[Any, ...]]:
    """Up to `limit` rows of PAGE_COLUMNS, newest activity first."""
    params: dict[str, Any] = {"member_id": member_id, "limit": limit}
    if after is not None:
        params.update(after_at=after.last_activity_at, after_id=after.conversation_id)
    return await _PAGES[filter, after is not None].rows(conn, **params)


MEMBER_COLUMNS = PROFILE_COLUMNS
"""What the page shows of a member (shapes.public_member_json), in order."""

_MEMBERS = Prepared(
    select(p.conversation_id, *[_raw(col) for col in MEMBER_COLUMNS])
    .select_from(participants.join(members, members.c.id == p.member_id))
    .where(in_ids(p.conversation_id, "ids"))
    .order_by(p.conversation_id, p.member_id)
)


async def members_of(conn: AsyncConnection, *, conversation_ids: Sequence[int]) -> list[tuple[Any, ...]]:
    """(conversation id, *MEMBER_COLUMNS) of each participant of the conversations, in
    conversation then member order; a participant whose member is gone has no row."""
    if not conversation_ids:
        return []
    return await _MEMBERS.rows(conn, ids=conversation_ids)
