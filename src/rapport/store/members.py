"""Members, their settings, InMail ledgers and session tokens."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, delete, func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from rapport.domain.credits import CreditLedger
from rapport.domain.model import Member, MemberId, MemberSettings, Tier
from rapport.store import events as event_log
from rapport.store.dialect import Database
from rapport.store.prepared import Prepared, in_ids
from rapport.store.tables import conversations, members, tokens

PROFILE_COLUMNS = (
    members.c.id,
    members.c.handle,
    members.c.name,
    members.c.headline,
    members.c.industry,
    members.c.location,
    members.c.avatar_url,
    members.c.tier,
    members.c.open_profile,
)
"""What anyone may see of a member (shapes.public_member_json), in order: PUBLIC_COLUMNS begins with it."""
_PUBLIC = (
    *PROFILE_COLUMNS,
    members.c.read_receipts_and_typing,
    members.c.messages_from_group_members,
    members.c.sponsored_messages,
)
PUBLIC_COLUMNS = _PUBLIC
"""What other repositories select to build a `Member` in the same statement (member_from_row)."""


_TIERS = {tier.value: tier for tier in Tier}


def member_from_row(row: Sequence[Any], start: int = 0) -> Member:
    """A `Member` from PUBLIC_COLUMNS found at `start` in a row: the one reader of members, by
    position (a page of fifty group members builds no mapping per row and calls no enum
    constructor: that was a third of its CPU)."""
    (id_, handle, name, headline, industry, location, avatar, tier, open_profile, receipts, from_groups, sponsored) = (
        row[start : start + len(_PUBLIC)]
    )
    return Member(
        id=MemberId(id_),
        handle=handle,
        name=name,
        headline=headline,
        industry=industry,
        location=location,
        avatar_url=avatar,
        tier=_TIERS[tier],
        settings=MemberSettings(
            read_receipts_and_typing=receipts,
            open_profile=open_profile,
            messages_from_group_members=from_groups,
            sponsored_messages=sponsored,
        ),
    )


_GET = Prepared(select(*_PUBLIC).where(members.c.id == bindparam("member_id")))


async def add(
    conn: AsyncConnection,
    *,
    handle: str,
    email: str,
    password_hash: str,
    name: str,
    at: datetime,
) -> MemberId:
    member_id = (
        await conn.execute(
            insert(members)
            .values(
                handle=handle,
                email=email,
                password_hash=password_hash,
                name=name,
                created_at=at,
            )
            .returning(members.c.id)
        )
    ).scalar_one()
    await event_log.create_counter(conn, member_id=MemberId(member_id))
    return MemberId(member_id)


async def handle_or_email_taken(conn: AsyncConnection, *, handle: str, email: str) -> str | None:
    row = (
        await conn.execute(
            select(members.c.handle, members.c.email).where(or_(members.c.handle == handle, members.c.email == email))
        )
    ).first()
    if row is None:
        return None
    return "handle" if row.handle == handle else "email"


async def get(conn: AsyncConnection, *, member_id: int) -> Member | None:
    row = await _GET.first(conn, member_id=member_id)
    return member_from_row(row) if row else None


async def get_by_handle(conn: AsyncConnection, *, handle: str) -> Member | None:
    row = (await conn.execute(select(*_PUBLIC).where(members.c.handle == handle.lower()))).first()
    return member_from_row(row) if row else None


async def list_by_handles(conn: AsyncConnection, *, handles: Iterable[str]) -> list[Member]:
    wanted = {h.lower() for h in handles}
    if not wanted:
        return []
    rows = await conn.execute(select(*_PUBLIC).where(members.c.handle.in_(wanted)))
    return [member_from_row(r) for r in rows]


_BY_IDS = Prepared(select(*_PUBLIC).where(in_ids(members.c.id, "ids")))


async def list_by_ids(conn: AsyncConnection, *, ids: Iterable[int]) -> dict[MemberId, Member]:
    wanted = set(ids)
    if not wanted:
        return {}
    found = (member_from_row(r) for r in await _BY_IDS.rows(conn, ids=wanted))
    return {m.id: m for m in found}


async def get_credentials(conn: AsyncConnection, *, login: str) -> tuple[MemberId, str] | None:
    login = login.strip().lower()
    row = (
        await conn.execute(
            select(members.c.id, members.c.password_hash).where(
                or_(members.c.handle == login, members.c.email == login)
            )
        )
    ).first()
    return (MemberId(row.id), row.password_hash) if row else None


async def save_profile(conn: AsyncConnection, *, member_id: int, fields: Mapping[str, Any]) -> None:
    if fields:
        await conn.execute(update(members).where(members.c.id == member_id).values(**fields))


async def save_password_hash(conn: AsyncConnection, *, member_id: int, password_hash: str) -> None:
    await conn.execute(update(members).where(members.c.id == member_id).values(password_hash=password_hash))


async def get_ledger(conn: AsyncConnection, *, member_id: int) -> tuple[Tier, CreditLedger]:
    row = (
        await conn.execute(
            select(members.c.tier, members.c.inmail_balance, members.c.inmail_granted_through).where(
                members.c.id == member_id
            )
        )
    ).one()
    return Tier(row.tier), CreditLedger(row.inmail_balance, row.inmail_granted_through)


async def save_ledger(conn: AsyncConnection, *, member_id: int, ledger: CreditLedger) -> None:
    await conn.execute(
        update(members)
        .where(members.c.id == member_id)
        .values(inmail_balance=ledger.balance, inmail_granted_through=ledger.granted_through)
    )


async def search(conn: AsyncConnection, *, query: str, limit: int, exclude: Iterable[int] = ()) -> list[Member]:
    pattern = query.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    stmt = (
        select(*_PUBLIC)
        .where(
            or_(
                members.c.handle.like(pattern, escape="\\"),
                func.lower(members.c.name).like(pattern, escape="\\"),
                func.lower(members.c.name).like("% " + pattern, escape="\\"),
            )
        )
        .order_by(members.c.name, members.c.id)
        .limit(limit)
    )
    excluded = set(exclude)
    if excluded:
        stmt = stmt.where(members.c.id.not_in(excluded))
    return [member_from_row(r) for r in await conn.execute(stmt)]


async def add_token(conn: AsyncConnection, *, token_hash: str, member_id: int, at: datetime) -> None:
    await conn.execute(insert(tokens).values(token_hash=token_hash, member_id=member_id, created_at=at))


_FOR_TOKEN = Prepared(
    select(*_PUBLIC)
    .select_from(tokens.join(members, members.c.id == tokens.c.member_id))
    .where(tokens.c.token_hash == bindparam("token_hash"), members.c.suspended_at.is_(None))
)


async def member_for_token(db: Database, *, token_hash: str) -> Member | None:
    """A request whose token is not in its process's cache asks this: one statement, read
    outside a transaction (`Database.fetch`)."""
    rows = await db.fetch(_FOR_TOKEN, token_hash=token_hash)
    return member_from_row(rows[0]) if rows else None


async def live_tokens(conn: AsyncConnection, *, token_hashes: Iterable[str]) -> set[str]:
    """Which of these token hashes still name a session of a member who is not suspended."""
    wanted = set(token_hashes)
    if not wanted:
        return set()
    rows = await conn.execute(
        select(tokens.c.token_hash)
        .select_from(tokens.join(members, members.c.id == tokens.c.member_id))
        .where(tokens.c.token_hash.in_(wanted), members.c.suspended_at.is_(None))
    )
    return set(rows.scalars())


async def delete_token(conn: AsyncConnection, *, token_hash: str) -> None:
    await conn.execute(delete(tokens).where(tokens.c.token_hash == token_hash))


async def delete_tokens(conn: AsyncConnection, *, member_id: int, keep: str | None = None) -> None:
    """Every session of a member, except the one hashed `keep`."""
    stmt = delete(tokens).where(tokens.c.member_id == member_id)
    if keep is not None:
        stmt = stmt.where(tokens.c.token_hash != keep)
    await conn.execute(stmt)


async def get_credentials_by_id(conn: AsyncConnection, *, member_id: int) -> str | None:
    """The stored password hash of a member."""
    found: str | None = await conn.scalar(select(members.c.password_hash).where(members.c.id == member_id))
    return found


async def get_account(conn: AsyncConnection, *, member_id: int) -> dict[str, Any] | None:
    """What only the member sees of their own account: e-mail and when they joined."""
    row = (await conn.execute(select(members.c.email, members.c.created_at).where(members.c.id == member_id))).first()
    return dict(row._mapping) if row else None


async def erase(conn: AsyncConnection, *, member_id: int) -> None:
    """Remove a member's row; the schema's cascades take what is theirs, messages keep a NULL sender.

    The pair key of their 1:1 threads goes too: SQLite may give a new member the same id,
    and that member must not continue an old thread.
    """
    lo_or_hi = or_(
        conversations.c.pair_key.like(f"{int(member_id)}:%"), conversations.c.pair_key.like(f"%:{int(member_id)}")
    )
    await conn.execute(update(conversations).where(lo_or_hi).values(pair_key=None))
    await conn.execute(delete(members).where(members.c.id == member_id))
