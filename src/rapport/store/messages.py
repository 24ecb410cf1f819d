"""Messages, read receipts and reactions."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import bindparam, delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from rapport.domain.model import ConversationId, MemberId, MessageId
from rapport.store.dialect import DIALECTS, insert_or_skip
from rapport.store.prepared import Prepared, in_ids
from rapport.store.tables import messages, reactions, read_receipts


@dataclass(frozen=True, slots=True)
class MessageRow:
    id: MessageId
    conversation_id: ConversationId
    sender_id: MemberId | None
    body: str
    created_at: datetime
    edited_at: datetime | None
    deleted: bool
    client_id: str | None
    attachment_count: int
    mentions: str | None = None
    """JSON list of the member ids the body mentions, or None."""
    system: str | None = None
    """JSON of a system line (participants added or removed, a new title), or None."""

    @property
    def mentioned_ids(self) -> tuple[MemberId, ...]:
        return tuple(MemberId(int(m)) for m in orjson.loads(self.mentions)) if self.mentions else ()

    @property
    def system_line(self) -> dict[str, Any] | None:
        return dict(orjson.loads(self.system)) if self.system else None


def encode_mentions(ids: Iterable[int]) -> str | None:
    wanted = [int(i) for i in ids]
    return orjson.dumps(wanted).decode() if wanted else None


_MESSAGE = (
    messages.c.id,
    messages.c.conversation_id,
    messages.c.sender_id,
    messages.c.body,
    messages.c.created_at,
    messages.c.edited_at,
    messages.c.deleted,
    messages.c.client_id,
    messages.c.attachment_count,
    messages.c.mentions,
    messages.c.system,
)


def _message(r: Any) -> MessageRow:
    return MessageRow(**{k: r[k] for k in MessageRow.__slots__})


_ADD = {
    dialect: Prepared(
        insert_or_skip(dialect, messages, "sender_id", "client_id")
        .values(
            conversation_id=bindparam("conversation_id"),
            sender_id=bindparam("sender_id"),
            body=bindparam("body"),
            created_at=bindparam("created_at"),
            client_id=bindparam("client_id"),
            attachment_count=bindparam("attachment_count"),
            mentions=bindparam("mentions"),
            system=bindparam("system"),
        )
        .returning(*_MESSAGE),
        dialect=dialect,
    )
    for dialect in DIALECTS
}
_BY_CLIENT_ID = Prepared(
    select(*_MESSAGE).where(
        messages.c.sender_id == bindparam("sender_id"), messages.c.client_id == bindparam("client_id")
    )
)


async def add(
    conn: AsyncConnection,
    *,
    conversation_id: int,
    sender_id: int,
    body: str,
    at: datetime,
    client_id: str | None,
    attachment_count: int = 0,
    mentions: Iterable[int] = (),
    system: dict[str, Any] | None = None,
) -> MessageRow | None:
    """The stored message, or None when this sender already used `client_id`."""
    row = await _ADD[conn.dialect.name].first(
        conn,
        conversation_id=conversation_id,
        sender_id=sender_id,
        body=body,
        created_at=at,
        client_id=client_id,
        attachment_count=attachment_count,
        mentions=encode_mentions(mentions),
        system=orjson.dumps(system).decode() if system is not None else None,
    )
    return MessageRow(*row) if row else None


_GET = Prepared(select(*_MESSAGE).where(messages.c.id == bindparam("message_id")))
_COUNT_UNREAD = Prepared(
    select(func.count()).where(
        messages.c.conversation_id == bindparam("conversation_id"),
        messages.c.id > bindparam("after"),
        messages.c.sender_id != bindparam("member_id"),
        messages.c.deleted.is_(False),
    )
)
_ADD_RECEIPT = Prepared(
    insert(read_receipts).values(
        conversation_id=bindparam("conversation_id"),
        reader_id=bindparam("reader_id"),
        message_id=bindparam("message_id"),
        read_at=bindparam("read_at"),
        shared=bindparam("shared"),
    )
)


async def get(conn: AsyncConnection, *, message_id: int) -> MessageRow | None:
    row = await _GET.first(conn, message_id=message_id)
    return MessageRow(*row) if row else None


async def get_by_client_id(conn: AsyncConnection, *, sender_id: int, client_id: str) -> MessageRow | None:
    row = await _BY_CLIENT_ID.first(conn, sender_id=sender_id, client_id=client_id)
    return MessageRow(*row) if row else None


async def list_page(
    conn: AsyncConnection,
    *,
    conversation_id: int,
    after: int,
    before: int | None,
    limit: int,
) -> list[MessageRow]:
    """Newest first, strictly after `after` (what the member cleared) and before `before`."""
    stmt = (
        select(*_MESSAGE)
        .where(messages.c.conversation_id == conversation_id, messages.c.id > after)
        .order_by(messages.c.id.desc())
        .limit(limit)
    )
    if before is not None:
        stmt = stmt.where(messages.c.id < before)
    return [_message(r._mapping) for r in await conn.execute(stmt)]


_BY_IDS = Prepared(select(*_MESSAGE).where(in_ids(messages.c.id, "ids")))


async def list_by_ids(conn: AsyncConnection, *, ids: Iterable[int]) -> dict[MessageId, MessageRow]:
    wanted = {i for i in ids if i}
    if not wanted:
        return {}
    found = (_message(r) for r in await _BY_IDS.mappings(conn, ids=wanted))
    return {m.id: m for m in found}


async def save_body(
    conn: AsyncConnection, *, message_id: int, body: str, at: datetime, mentions: Iterable[int] = ()
) -> None:
    await conn.execute(
        update(messages)
        .where(messages.c.id == message_id)
        .values(body=body, edited_at=at, mentions=encode_mentions(mentions))
    )


async def tombstone(conn: AsyncConnection, *, message_id: int) -> None:
    await conn.execute(
        update(messages).where(messages.c.id == message_id).values(body="", deleted=True, attachment_count=0)
    )
    await conn.execute(delete(reactions).where(reactions.c.message_id == message_id))


async def count_unread(conn: AsyncConnection, *, conversation_id: int, member_id: int, after: int) -> int:
    """Messages from others after `after`: the unread count once a read is recorded."""
    value = await _COUNT_UNREAD.scalar(conn, conversation_id=conversation_id, after=after, member_id=member_id)
    return int(value or 0)


async def last_id(conn: AsyncConnection, *, conversation_id: int) -> int:
    value = await conn.scalar(select(func.max(messages.c.id)).where(messages.c.conversation_id == conversation_id))
    return int(value or 0)


async def add_receipt(
    conn: AsyncConnection,
    *,
    conversation_id: int,
    reader_id: int,
    message_id: int,
    at: datetime,
    shared: bool,
) -> None:
    await _ADD_RECEIPT.execute(
        conn, conversation_id=conversation_id, reader_id=reader_id, message_id=message_id, read_at=at, shared=shared
    )


async def shared_receipts(
    conn: AsyncConnection, *, conversation_id: int, reader_id: int, from_message_id: int
) -> list[tuple[int, datetime]]:
    """(message_id, read_at) of the reader's shared reads at or after `from_message_id`."""
    rows = await conn.execute(
        select(read_receipts.c.message_id, read_receipts.c.read_at)
        .where(
            read_receipts.c.conversation_id == conversation_id,
            read_receipts.c.reader_id == reader_id,
            read_receipts.c.shared.is_(True),
            read_receipts.c.message_id >= from_message_id,
        )
        .order_by(read_receipts.c.message_id)
    )
    return [(m, at) for m, at in rows]


async def reactions_for(
    conn: AsyncConnection, *, message_ids: Iterable[int]
) -> dict[MessageId, list[tuple[str, MemberId]]]:
    ids = set(message_ids)
    out: dict[MessageId, list[tuple[str, MemberId]]] = {}
    if not ids:
        return out
    rows = await conn.execute(
        select(reactions.c.message_id, reactions.c.emoji, reactions.c.member_id)
        .where(reactions.c.message_id.in_(ids))
        .order_by(reactions.c.created_at)
    )
    for mid, emoji, member in rows:
        out.setdefault(MessageId(mid), []).append((emoji, MemberId(member)))
    return out


async def set_reaction(
    conn: AsyncConnection, *, message_id: int, member_id: int, emoji: str, on: bool, at: datetime
) -> bool:
    where = (
        reactions.c.message_id == message_id,
        reactions.c.member_id == member_id,
        reactions.c.emoji == emoji,
    )
    exists = await conn.scalar(select(1).where(*where))
    if on and not exists:
        await conn.execute(
            insert(reactions).values(message_id=message_id, member_id=member_id, emoji=emoji, created_at=at)
        )
        return True
    if not on and exists:
        await conn.execute(delete(reactions).where(*where))
        return True
    return False
