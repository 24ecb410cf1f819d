"""SQLite search: a read-only view of the full-text index's terms (`messages_fts_terms`).

A search word is a prefix (`"budg"*` finds "budget"), and FTS5 answers a prefix term by
merging, into memory, the whole posting list of every term that starts with it, across all
members, before its AND with the searcher's own token can narrow anything: at 1M messages a
word in 19% of them cost 7-8 ms per search, and bm25 paid it a second time. Through this
`fts5vocab` table a search first lists the index's terms that begin with the word (usually
none beyond the word itself), then asks for those exact terms, which FTS5 reads lazily and
skips through alongside the searcher's token (store/search.py). The table stores nothing: it
reads `messages_fts` when queried, so writes cost nothing more.

Revision ID: i19_search_terms
Revises: i17_insight_speed
"""

from __future__ import annotations

from alembic import op

revision = "i19_search_terms"
down_revision = "i17_insight_speed"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    op.execute("CREATE VIRTUAL TABLE messages_fts_terms USING fts5vocab(messages_fts, 'row')")


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    op.execute("DROP TABLE IF EXISTS messages_fts_terms")
