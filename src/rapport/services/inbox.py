"""The inbox page's JSON, built straight from the rows of store/inbox.py.

The same shapes as `conversation_json` and `message_json` (API.md), for what a page shows:
each member's shape is built once per page however many conversations they are in, a time is
decoded once and written once, and no dataclass stands between a row and its JSON. The inbox
shows a last message without receipts (`status` and `read_by` are null, reactions empty), so
nothing about other members' reads is looked up.
"""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy.ext.asyncio import AsyncConnection

from rapport.domain.model import MemberId
from rapport.services import attachments as attachment_service
from rapport.services.shapes import DELETED_MEMBER, member_json, public_member_json
from rapport.store import inbox as store
from rapport.store import members
from rapport.store.inbox import InboxCursor

# Positions in store.PAGE_COLUMNS.
(
    _ID,
    _KIND,
    _SUBJECT,
    _GROUP,
    _INMAIL_STATE,
    _TITLE,
    _ARCHIVED,
    _MUTED,
    _MARKED_UNREAD,
    _UNREAD,
    _ACTIVITY,
    _M_ID,
    _M_CONVERSATION,
    _M_SENDER,
    _M_BODY,
    _M_CREATED,
    _M_EDITED,
    _M_DELETED,
    _M_CLIENT,
    _M_FILES,
    _M_MENTIONS,
    _M_SYSTEM,
) = range(len(store.PAGE_COLUMNS))


def _time(value: Any) -> datetime | None:
    """A time as the driver hands it (SQLite: naive UTC ISO text) as an aware UTC datetime."""
    if value is None:
        return None
    when: datetime = datetime.fromisoformat(value) if isinstance(value, str) else value
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


def _iso(value: Any) -> str | None:
    """`shapes.iso` of the time the driver handed (`...Z`), without an aware datetime between."""
    if value is None:
        return None
    when: datetime = datetime.fromisoformat(value) if isinstance(value, str) else value
    if when.tzinfo is None:
        return when.isoformat() + "Z"
    return when.astimezone(UTC).isoformat().replace("+00:00", "Z")


def encode_cursor(last_activity_at: datetime, conversation_id: int) -> str:
    raw = f"{last_activity_at.isoformat()}|{conversation_id}"
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


async def page(
    conn: AsyncConnection, viewer: MemberId, *, filter: str, after: InboxCursor | None, limit: int
) -> dict[str, Any]:
    """A page of `viewer`'s inbox (filter and limit already checked), with the next cursor."""
    rows = await store.page(conn, member_id=viewer, filter=filter, limit=limit + 1, after=after)
    more = len(rows) > limit
    rows = rows[:limit]
    shown: dict[int, list[dict[str, Any]]] = {r[_ID]: [] for r in rows}
    people: dict[int, dict[str, Any]] = {}
    for conversation_id, member_id, *public in await store.members_of(conn, conversation_ids=list(shown)):
        shape = people.get(member_id)
        if shape is None:
            shape = people[member_id] = public_member_json(member_id, *public)
        shown[conversation_id].append(shape)
    # A last message's sender who is no longer in the conversation.
    missing = {r[_M_SENDER] for r in rows if r[_M_ID] is not None and r[_M_SENDER] is not None} - people.keys()
    if missing:
        for member in (await members.list_by_ids(conn, ids=missing)).values():
            people[member.id] = member_json(member)
    # Files only where a message has some, so that the inbox can say "📎 report.pdf".
    with_files = [r[_M_ID] for r in rows if r[_M_ID] is not None and r[_M_FILES] and not r[_M_DELETED]]
    files = await attachment_service.for_messages(conn, with_files) if with_files else {}
    items = []
    for r in rows:
        unread = r[_UNREAD]
        if r[_MARKED_UNREAD] and unread == 0:
            unread = 1
        items.append(
            {
                "id": str(r[_ID]),
                "kind": r[_KIND],
                "subject": r[_SUBJECT],
                "participants": shown[r[_ID]],
                "last_message": None if r[_M_ID] is None else _message(r, viewer, people, files),
                "unread_count": unread,
                "archived": bool(r[_ARCHIVED]),
                "muted": bool(r[_MUTED]),
                "updated_at": _iso(r[_ACTIVITY]),
                "inmail_state": r[_INMAIL_STATE] or None,
                "group_id": str(r[_GROUP]) if r[_GROUP] else None,
                "title": r[_TITLE],
            }
        )
    cursor = None
    if more and rows:
        last = rows[-1]
        cursor = encode_cursor(_time(last[_ACTIVITY]), last[_ID])  # type: ignore[arg-type]
    return {"conversations": items, "next_cursor": cursor}


def _message(
    r: tuple[Any, ...], viewer: int, people: dict[int, dict[str, Any]], files: dict[Any, list[dict[str, Any]]]
) -> dict[str, Any]:
    """`message_json` of a conversation's last message as the inbox shows it."""
    sender_id = r[_M_SENDER]
    deleted = bool(r[_M_DELETED])
    sender = people.get(sender_id) if sender_id is not None else None
    mentioned = () if deleted or not r[_M_MENTIONS] else orjson.loads(r[_M_MENTIONS])
    return {
        "id": str(r[_M_ID]),
        "conversation_id": str(r[_M_CONVERSATION]),
        "sender": sender if sender else (DELETED_MEMBER if sender_id is None else None),
        "body": "" if deleted else r[_M_BODY],
        "attachments": [] if deleted else list(files.get(r[_M_ID], ())),
        "created_at": _iso(r[_M_CREATED]),
        "edited_at": _iso(r[_M_EDITED]),
        "deleted": deleted,
        "client_id": r[_M_CLIENT] if sender_id == viewer else None,
        "status": None,
        "read_by": None,
        "reactions": [],
        "mentions": [people[i] for i in map(int, mentioned) if i in people],
        "system": dict(orjson.loads(r[_M_SYSTEM])) if r[_M_SYSTEM] else None,
    }
