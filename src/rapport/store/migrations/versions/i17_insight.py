"""Engagement insight: the history of receipt switches, dismissed follow-ups.

Members whose switch is off today get one "off" change at the moment they joined: when it
was switched off is unknown, so every past read of theirs is judged as made while it was
off — the strict choice, as the privacy rule wants. The same for the operator's switch.

Revision ID: i17_insight
Revises: i13_jobs
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

from rapport.store.types import UTCDateTime

revision = "i17_insight"
down_revision = "i13_jobs"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    changes = op.create_table(
        "receipt_switch_changes",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column(
            "member_id",
            Id,
            sa.ForeignKey("members.id", ondelete="CASCADE", name=op.f("fk_receipt_switch_changes_member_id_members")),
        ),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("changed_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_receipt_switch_changes")),
    )
    op.create_index(
        op.f("ix_receipt_switch_changes_member_id_changed_at"),
        "receipt_switch_changes",
        ["member_id", "changed_at"],
    )
    op.create_table(
        "follow_up_dismissals",
        sa.Column(
            "member_id",
            Id,
            sa.ForeignKey("members.id", ondelete="CASCADE", name=op.f("fk_follow_up_dismissals_member_id_members")),
            nullable=False,
        ),
        sa.Column(
            "conversation_id",
            Id,
            sa.ForeignKey(
                "conversations.id",
                ondelete="CASCADE",
                name=op.f("fk_follow_up_dismissals_conversation_id_conversations"),
            ),
            nullable=False,
        ),
        sa.Column("dismissed_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("member_id", "conversation_id", name=op.f("pk_follow_up_dismissals")),
    )
    op.create_index("ix_conversations_created_by", "conversations", ["created_by"])
    members = sa.table(
        "members",
        sa.column("id", Id),
        sa.column("created_at", UTCDateTime()),
        sa.column("read_receipts_and_typing", sa.Boolean()),
    )
    op.execute(
        changes.insert().from_select(
            ["member_id", "enabled", "changed_at"],
            sa.select(members.c.id, sa.false(), members.c.created_at).where(
                members.c.read_receipts_and_typing.is_(False)
            ),
        )
    )
    network = sa.table("network_settings", sa.column("key", sa.String()), sa.column("value", sa.String()))
    off = op.get_bind().scalar(
        sa.select(sa.func.count())
        .select_from(network)
        .where(network.c.key == "read_receipts", network.c.value == "off")
    )
    if off:
        op.bulk_insert(changes, [{"member_id": None, "enabled": False, "changed_at": datetime(1970, 1, 1, tzinfo=UTC)}])


def downgrade() -> None:
    op.drop_index("ix_conversations_created_by", table_name="conversations")
    op.drop_table("follow_up_dismissals")
    op.drop_index(op.f("ix_receipt_switch_changes_member_id_changed_at"), table_name="receipt_switch_changes")
    op.drop_table("receipt_switch_changes")
