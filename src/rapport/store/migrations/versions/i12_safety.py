"""Safety: reports of conversations for moderators, and suspended members.

Revision ID: i12_safety
Revises: i14_avatars
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from rapport.store.types import UTCDateTime

revision = "i12_safety"
down_revision = "i14_avatars"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.add_column("members", sa.Column("suspended_at", UTCDateTime(), nullable=True))
    op.create_table(
        "reports",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column(
            "reporter_id",
            Id,
            sa.ForeignKey("members.id", ondelete="SET NULL", name=op.f("fk_reports_reporter_id_members")),
        ),
        sa.Column(
            "reported_id",
            Id,
            sa.ForeignKey("members.id", ondelete="SET NULL", name=op.f("fk_reports_reported_id_members")),
        ),
        sa.Column(
            "conversation_id",
            Id,
            sa.ForeignKey(
                "conversations.id", ondelete="CASCADE", name=op.f("fk_reports_conversation_id_conversations")
            ),
            nullable=False,
        ),
        sa.Column("reason", sa.String(20), nullable=False),
        sa.Column("note", sa.String(1000)),
        sa.Column("state", sa.String(10), nullable=False),
        sa.Column("action", sa.String(10)),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("resolved_at", UTCDateTime()),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reports")),
        sa.UniqueConstraint("reporter_id", "conversation_id", name=op.f("uq_reports_reporter_id_conversation_id")),
    )
    op.create_index(op.f("ix_reports_state_id"), "reports", ["state", "id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_reports_state_id"), table_name="reports")
    op.drop_table("reports")
    with op.batch_alter_table("members") as batch:
        batch.drop_column("suspended_at")
