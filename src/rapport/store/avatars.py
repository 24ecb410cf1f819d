"""Uploaded profile pictures (small, already cropped): one row per member."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from rapport.store.tables import member_avatars


async def save(
    conn: AsyncConnection, *, member_id: int, version: str, content_type: str, data: bytes, at: datetime
) -> None:
    await conn.execute(delete(member_avatars).where(member_avatars.c.member_id == member_id))
    await conn.execute(
        insert(member_avatars).values(
            member_id=member_id, version=version, content_type=content_type, data=data, updated_at=at
        )
    )


async def remove(conn: AsyncConnection, *, member_id: int) -> None:
    await conn.execute(delete(member_avatars).where(member_avatars.c.member_id == member_id))


async def get(conn: AsyncConnection, *, member_id: int) -> tuple[str, str, bytes] | None:
    """(version, content_type, data) of the member's picture, if one was uploaded."""
    row = (
        await conn.execute(
            select(member_avatars.c.version, member_avatars.c.content_type, member_avatars.c.data).where(
                member_avatars.c.member_id == member_id
            )
        )
    ).first()
    return (row[0], row[1], bytes(row[2])) if row else None
