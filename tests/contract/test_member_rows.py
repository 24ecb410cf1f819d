"""Members read from plain rows, on SQLite and PostgreSQL: the one positional reader builds
the member that was stored, field for field, wherever its columns start in the row."""

from __future__ import annotations

from sqlalchemy import select

from rapport.clock import FakeClock
from rapport.domain.model import Member, MemberId, MemberSettings, Tier
from rapport.store import members
from rapport.store.dialect import Database
from rapport.store.tables import members as members_table


async def test_a_member_read_by_position_equals_one_read_by_name(db: Database) -> None:
    async with db.write() as conn:
        member_id = await members.add(
            conn, handle="ada", email="ada@example.com", password_hash="x", name="Ada L", at=FakeClock().now()
        )
        # Every field distinct, and each boolean setting the opposite of its default.
        await members.save_profile(
            conn,
            member_id=member_id,
            fields={
                "headline": "Engineer",
                "industry": "Computing",
                "location": "London",
                "avatar_url": "/avatars/custom.png",
                "tier": Tier.PREMIUM_BUSINESS.value,
                "open_profile": True,
                "read_receipts_and_typing": False,
                "messages_from_group_members": False,
                "sponsored_messages": False,
            },
        )
    async with db.read() as conn:
        statement = select(members_table.c.tier, *members.PUBLIC_COLUMNS).where(members_table.c.id == member_id)
        row = (await conn.execute(statement)).one()
    expected = Member(
        id=MemberId(member_id),
        handle="ada",
        name="Ada L",
        headline="Engineer",
        industry="Computing",
        location="London",
        avatar_url="/avatars/custom.png",
        tier=Tier.PREMIUM_BUSINESS,
        settings=MemberSettings(
            read_receipts_and_typing=False,
            open_profile=True,
            messages_from_group_members=False,
            sponsored_messages=False,
        ),
    )
    assert members.member_from_row(tuple(row), 1) == expected
    assert members.member_from_row(row[1:]) == expected
    assert expected.tier is Tier.PREMIUM_BUSINESS
    assert expected.has_open_profile
    assert not expected.settings.read_receipts_and_typing
