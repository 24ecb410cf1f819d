"""What typing reads of a conversation, in one statement, on SQLite and PostgreSQL: every
participant's switch and who has a block with the typist either way, nothing of anyone else."""

from __future__ import annotations

from sqlalchemy import insert

from rapport.clock import FakeClock
from rapport.domain.model import ConversationKind, MemberId
from rapport.store import conversations, members
from rapport.store.dialect import Database
from rapport.store.tables import blocks, participants
from rapport.store.tables import conversations as conversations_table


async def test_the_view_has_each_participants_switch_and_the_blocks_with_the_typist(db: Database) -> None:
    at = FakeClock().now()
    async with db.write() as conn:
        ids = {
            h: MemberId(await members.add(conn, handle=h, email=f"{h}@x.test", password_hash="x", name=h, at=at))
            for h in ("ada", "bo", "cy", "dee", "eve")
        }
        await members.save_profile(conn, member_id=ids["dee"], fields={"read_receipts_and_typing": False})
        cid = (
            await conn.execute(
                insert(conversations_table)
                .values(kind=ConversationKind.GROUP_CHAT.value, created_at=at, updated_at=at)
                .returning(conversations_table.c.id)
            )
        ).scalar_one()
        rows = [
            {"conversation_id": cid, "joined_at": at, "last_activity_at": at, "member_id": ids[h]}
            for h in ["ada", "bo", "cy", "dee"]
        ]
        await conn.execute(insert(participants), rows)
        await conn.execute(
            insert(blocks),
            [
                {"blocker_id": ids["bo"], "blocked_id": ids["ada"], "created_at": at},  # bo blocked ada
                {"blocker_id": ids["ada"], "blocked_id": ids["cy"], "created_at": at},  # ada blocked cy
                {"blocker_id": ids["eve"], "blocked_id": ids["ada"], "created_at": at},  # not a participant
                {"blocker_id": ids["cy"], "blocked_id": ids["dee"], "created_at": at},  # not with the typist
            ],
        )

    view = await conversations.typing_view(db, conversation_id=cid, member_id=ids["ada"])
    assert view is not None
    assert view.kind is ConversationKind.GROUP_CHAT
    assert view.switches == {ids["ada"]: True, ids["bo"]: True, ids["cy"]: True, ids["dee"]: False}
    assert view.blocked == {ids["bo"], ids["cy"]}

    as_dee = await conversations.typing_view(db, conversation_id=cid, member_id=ids["dee"])
    assert as_dee is not None and as_dee.blocked == {ids["cy"]}
    assert await conversations.typing_view(db, conversation_id=cid + 1000, member_id=ids["ada"]) is None
