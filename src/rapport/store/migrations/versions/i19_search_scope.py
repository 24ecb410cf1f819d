"""SQLite search: index a 1:1 thread's messages under its two members, not under the conversation.

0003 gave each message a token `c<conversation id>`, and a search ORed the searcher's
conversations into the full-text query. At 1M messages a member with 600 threads paid for a
600-way OR in the index (about 30 µs a conversation) and for bm25 over as many phrases: 50-70 ms
for one search of a frequent word. A thread whose two members are fixed for life (the kinds
with a `pair_key`: direct, group member, open profile) now carries `m<member>` for both
instead, so such a search is `body AND m<searcher>`: one more phrase, whatever the inbox size
(3-9 ms for the same searches). Group chats, multi-person conversations, InMail and sponsored
threads keep `c<id>` (their participants change, or are not both known from the row).

Each conversation's tokens are written once, when it is created, into `search_scopes` and never
change: the delete and update triggers must hand FTS5 exactly what was indexed, and a
conversation's `pair_key` itself is cleared when an account is deleted. A missing row means
`c<id>`. The index stays an accelerator: the search's join on `participants` still decides
what a member may see.

Upgrading rebuilds the index from the messages (about 10 s per million) and merges it into
one segment. PostgreSQL is untouched.

Revision ID: i19_search_scope
Revises: i19_search_vector
"""

from __future__ import annotations

from alembic import op

revision = "i19_search_scope"
down_revision = "i19_search_vector"
branch_labels = None
depends_on = None

TRIGGERS = ("messages_fts_insert", "messages_fts_delete", "messages_fts_update")
_SCOPE_OF_NEW = "CASE WHEN new.pair_key IS NOT NULL THEN 'm' || replace(new.pair_key, ':', ' m') ELSE 'c' || new.id END"


def _scope(message: str) -> str:
    """The tokens a message of conversation `<message>.conversation_id` was indexed with."""
    return (
        f"coalesce((SELECT scope FROM search_scopes WHERE conversation_id = {message}.conversation_id),"
        f" 'c' || {message}.conversation_id)"
    )


def _drop_index() -> None:
    for trigger in TRIGGERS:
        op.execute(f"DROP TRIGGER IF EXISTS {trigger}")
    op.execute("DROP TABLE IF EXISTS messages_fts")
    op.execute("DROP VIEW IF EXISTS messages_fts_source")


def _create_index(conv_of_old: str, conv_of_new: str, source: str) -> None:
    op.execute(f"CREATE VIEW messages_fts_source AS {source}")
    op.execute(
        "CREATE VIRTUAL TABLE messages_fts USING fts5(body, conv, content='messages_fts_source',"
        " content_rowid='id', tokenize='unicode61 remove_diacritics 2')"
    )
    op.execute(
        "CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages BEGIN "
        f"INSERT INTO messages_fts(rowid, body, conv) VALUES (new.id, new.body, {conv_of_new}); END"
    )
    op.execute(
        "CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages BEGIN "
        "INSERT INTO messages_fts(messages_fts, rowid, body, conv) "
        f"VALUES ('delete', old.id, old.body, {conv_of_old}); END"
    )
    op.execute(
        "CREATE TRIGGER messages_fts_update AFTER UPDATE OF body ON messages BEGIN "
        "INSERT INTO messages_fts(messages_fts, rowid, body, conv) "
        f"VALUES ('delete', old.id, old.body, {conv_of_old}); "
        f"INSERT INTO messages_fts(rowid, body, conv) VALUES (new.id, new.body, {conv_of_new}); END"
    )
    op.execute("INSERT INTO messages_fts(messages_fts) VALUES ('rebuild')")
    op.execute("INSERT INTO messages_fts(messages_fts) VALUES ('optimize')")


def upgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    op.execute("CREATE TABLE search_scopes (conversation_id INTEGER PRIMARY KEY, scope TEXT NOT NULL)")
    op.execute(
        "INSERT INTO search_scopes (conversation_id, scope) SELECT id, "
        + _SCOPE_OF_NEW.replace("new.", "")
        + " FROM conversations"
    )
    op.execute(
        "CREATE TRIGGER search_scopes_insert AFTER INSERT ON conversations BEGIN "
        f"INSERT OR IGNORE INTO search_scopes (conversation_id, scope) VALUES (new.id, {_SCOPE_OF_NEW}); END"
    )
    _drop_index()
    _create_index(
        _scope("old"),
        _scope("new"),
        "SELECT m.id, m.body, coalesce(s.scope, 'c' || m.conversation_id) AS conv"
        " FROM messages m LEFT JOIN search_scopes s ON s.conversation_id = m.conversation_id",
    )


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    _drop_index()
    _create_index(
        "'c' || old.conversation_id",
        "'c' || new.conversation_id",
        "SELECT id, body, 'c' || conversation_id AS conv FROM messages",
    )
    op.execute("DROP TRIGGER IF EXISTS search_scopes_insert")
    op.execute("DROP TABLE IF EXISTS search_scopes")
