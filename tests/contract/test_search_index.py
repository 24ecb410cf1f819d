"""SQLite's search index (migration i19_search_scope): an existing database is re-indexed on
upgrade, 1:1 threads under their two members and the rest under the conversation, and the
index stays consistent when a thread's `pair_key` is cleared (account deletion) later."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

from alembic import command

from rapport.store.migrate import alembic_config, upgrade

AT = "2026-11-29 12:00:00.000000"


def _matching(db: sqlite3.Connection, match: str) -> list[int]:
    return [r[0] for r in db.execute("SELECT rowid FROM messages_fts WHERE messages_fts MATCH ?", (match,))]


def _check_integrity(db: sqlite3.Connection) -> None:
    db.execute("INSERT INTO messages_fts(messages_fts) VALUES ('integrity-check')")


def _add_conversation(db: sqlite3.Connection, cid: int, kind: str, pair_key: str | None) -> None:
    db.execute(
        "INSERT INTO conversations (id, kind, pair_key, created_at, updated_at, inmail_charged)"
        " VALUES (?, ?, ?, ?, ?, 0)",
        (cid, kind, pair_key, AT, AT),
    )


def _add_message(db: sqlite3.Connection, mid: int, cid: int, body: str) -> None:
    db.execute(
        "INSERT INTO messages (id, conversation_id, body, created_at, deleted, attachment_count)"
        " VALUES (?, ?, ?, ?, 0, 0)",
        (mid, cid, body, AT),
    )


async def test_upgrade_reindexes_history_by_member_and_stays_consistent(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    url = f"sqlite+aiosqlite:///{path}"
    await upgrade(url, "i19_search_vector")
    with sqlite3.connect(path, isolation_level=None) as db:  # no foreign keys: rows stand alone
        _add_conversation(db, 1, "direct", "7:9")
        _add_conversation(db, 2, "multi", None)
        _add_message(db, 10, 1, "The budget review")
        _add_message(db, 11, 2, "Budget for the offsite")
        assert _matching(db, 'conv : "m7"') == []

    await upgrade(url)
    with sqlite3.connect(path, isolation_level=None) as db:
        assert _matching(db, 'body : "budget"* AND conv : "m7"') == [10]
        assert _matching(db, 'body : "budget"* AND conv : "m9"') == [10]
        assert _matching(db, 'body : "budget"* AND conv : "c2"') == [11]
        assert _matching(db, 'conv : "c1"') == []
        _check_integrity(db)
        # A thread created after the upgrade is indexed by member from its first message.
        _add_conversation(db, 3, "open_profile", "7:12")
        _add_message(db, 12, 3, "Budget questions")
        assert _matching(db, 'body : "budget"* AND conv : "m7"') == [10, 12]
        # An account deletion clears the pair key; an edit afterwards still finds what was indexed.
        db.execute("UPDATE conversations SET pair_key = NULL WHERE id = 1")
        db.execute("UPDATE messages SET body = 'The forecast review' WHERE id = 10")
        _check_integrity(db)
        assert _matching(db, 'body : "forecast" AND conv : "m7"') == [10]
        assert _matching(db, 'body : "budget"* AND conv : "m7"') == [12]

    # And back: the index by conversation is rebuilt.
    await asyncio.to_thread(command.downgrade, alembic_config(url), "i19_search_vector")
    with sqlite3.connect(path, isolation_level=None) as db:
        assert _matching(db, 'body : "budget"* AND conv : "c3"') == [12]
        _check_integrity(db)
