"""Attachment rows: who uploaded what, and which message (if any) carries it."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, exists, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from rapport.domain.model import MemberId, MessageId
from rapport.store.tables import attachments, campaigns, messages, participants


@dataclass(frozen=True, slots=True)
class AttachmentRow:
    id: int
    owner_id: MemberId
    sha256: str
    name: str
    size: int
    content_type: str
    created_at: datetime
    message_id: MessageId | None
    conversation_id: int | None
    position: int


@dataclass(frozen=True, slots=True)
class Viewing:
    """What decides whether a member may fetch a file: their place in the carrying conversation."""

    is_participant: bool
    cleared_through: int
    message_deleted: bool


_COLUMNS = tuple(attachments.c[name] for name in AttachmentRow.__slots__)


def _row(r: Any) -> AttachmentRow:
    return AttachmentRow(**{k: r[k] for k in AttachmentRow.__slots__})


async def add(
    conn: AsyncConnection, *, owner_id: int, sha256: str, name: str, size: int, content_type: str, at: datetime
) -> AttachmentRow:
    row = (
        await conn.execute(
            insert(attachments)
            .values(owner_id=owner_id, sha256=sha256, name=name, size=size, content_type=content_type, created_at=at)
            .returning(*_COLUMNS)
        )
    ).one()
    return _row(row._mapping)


async def get(conn: AsyncConnection, *, attachment_id: int) -> AttachmentRow | None:
    row = (await conn.execute(select(*_COLUMNS).where(attachments.c.id == attachment_id))).first()
    return _row(row._mapping) if row else None


async def get_viewing(conn: AsyncConnection, *, message_id: int, member_id: int) -> Viewing:
    row = (
        await conn.execute(
            select(messages.c.deleted, participants.c.cleared_through)
            .select_from(messages)
            .outerjoin(
                participants,
                (participants.c.conversation_id == messages.c.conversation_id)
                & (participants.c.member_id == member_id),
            )
            .where(messages.c.id == message_id)
        )
    ).first()
    if row is None:
        return Viewing(is_participant=False, cleared_through=0, message_deleted=True)
    return Viewing(
        is_participant=row.cleared_through is not None,
        cleared_through=int(row.cleared_through or 0),
        message_deleted=bool(row.deleted),
    )


async def claim(
    conn: AsyncConnection, *, attachment_id: int, owner_id: int, message_id: int, conversation_id: int, position: int
) -> bool:
    """Attach one of the owner's unattached uploads; False when there is no such upload."""
    result = await conn.execute(
        update(attachments)
        .where(
            attachments.c.id == attachment_id,
            attachments.c.owner_id == owner_id,
            attachments.c.message_id.is_(None),
        )
        .values(message_id=message_id, conversation_id=conversation_id, position=position)
    )
    return result.rowcount == 1


async def list_for_messages(
    conn: AsyncConnection, *, message_ids: Iterable[int]
) -> dict[MessageId, list[AttachmentRow]]:
    ids = {i for i in message_ids if i}
    out: dict[MessageId, list[AttachmentRow]] = {}
    if not ids:
        return out
    rows = await conn.execute(
        select(*_COLUMNS).where(attachments.c.message_id.in_(ids)).order_by(attachments.c.position)
    )
    for r in rows:
        row = _row(r._mapping)
        assert row.message_id is not None
        out.setdefault(row.message_id, []).append(row)
    return out


async def delete_for_message(conn: AsyncConnection, *, message_id: int) -> set[str]:
    """Remove a message's files; returns the blob keys they used."""
    keys = await conn.execute(
        delete(attachments).where(attachments.c.message_id == message_id).returning(attachments.c.sha256)
    )
    return set(keys.scalars())


async def remove(conn: AsyncConnection, *, attachment_id: int) -> None:
    """Forget one upload (its bytes could not be kept)."""
    await conn.execute(delete(attachments).where(attachments.c.id == attachment_id))


async def delete_unclaimed(conn: AsyncConnection, *, created_before: datetime) -> set[str]:
    """Remove uploads no message claimed since before `created_before`, and no campaign shows
    as its banner; returns their blob keys."""
    keys = await conn.execute(
        delete(attachments)
        .where(
            attachments.c.message_id.is_(None),
            attachments.c.created_at < created_before,
            ~exists().where(campaigns.c.banner_attachment_id == attachments.c.id),
        )
        .returning(attachments.c.sha256)
    )
    return set(keys.scalars())


async def referenced(conn: AsyncConnection, *, keys: Iterable[str]) -> set[str]:
    """Which of these blob keys some row still names."""
    wanted = set(keys)
    if not wanted:
        return set()
    rows = await conn.execute(select(attachments.c.sha256).where(attachments.c.sha256.in_(wanted)).distinct())
    return set(rows.scalars())


async def list_sent_by(conn: AsyncConnection, *, owner_id: int) -> list[AttachmentRow]:
    """Files a member sent (carried by a message), oldest first."""
    rows = await conn.execute(
        select(*_COLUMNS)
        .where(attachments.c.owner_id == owner_id, attachments.c.message_id.is_not(None))
        .order_by(attachments.c.id)
    )
    return [_row(r._mapping) for r in rows]


async def keys_owned_by(conn: AsyncConnection, *, owner_id: int) -> set[str]:
    """The blob keys of every file a member uploaded, sent or not."""
    rows = await conn.execute(select(attachments.c.sha256).where(attachments.c.owner_id == owner_id).distinct())
    return set(rows.scalars())
