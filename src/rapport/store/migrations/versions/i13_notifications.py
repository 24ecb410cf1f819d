"""notifications: preferences, push subscriptions, per-conversation alert state

Revision ID: i13_notifications
Revises: i12_safety
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "i13_notifications"
down_revision: str | None = "i12_safety"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.add_column("notifications", sa.Column("conversation_id", Id, nullable=True))
    op.create_table(
        "notification_preferences",
        sa.Column("member_id", Id, nullable=False),
        sa.Column("choices", sa.Text(), server_default="{}", nullable=False),
        sa.Column("email_previews", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["members.id"],
            name=op.f("fk_notification_preferences_member_id_members"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("member_id", name=op.f("pk_notification_preferences")),
    )
    op.create_table(
        "push_subscriptions",
        sa.Column("id", Id, autoincrement=True, nullable=False),
        sa.Column("member_id", Id, nullable=False),
        sa.Column("endpoint", sa.String(length=2000), nullable=False),
        sa.Column("p256dh", sa.String(length=100), nullable=False),
        sa.Column("auth", sa.String(length=50), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["member_id"], ["members.id"], name=op.f("fk_push_subscriptions_member_id_members"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_push_subscriptions")),
        sa.UniqueConstraint("endpoint", name=op.f("uq_push_subscriptions_endpoint")),
    )
    op.create_index(op.f("ix_push_subscriptions_member_id"), "push_subscriptions", ["member_id"])
    op.create_table(
        "message_alerts",
        sa.Column("member_id", Id, nullable=False),
        sa.Column("conversation_id", Id, nullable=False),
        sa.Column("emailed_through", Id, server_default="0", nullable=False),
        sa.Column("pushed_through", Id, server_default="0", nullable=False),
        sa.Column("last_email_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("throttle_seconds", sa.Integer(), server_default="0", nullable=False),
        sa.ForeignKeyConstraint(
            ["member_id"], ["members.id"], name=op.f("fk_message_alerts_member_id_members"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversations.id"],
            name=op.f("fk_message_alerts_conversation_id_conversations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("member_id", "conversation_id", name=op.f("pk_message_alerts")),
    )


def downgrade() -> None:
    op.drop_table("message_alerts")
    op.drop_index(op.f("ix_push_subscriptions_member_id"), table_name="push_subscriptions")
    op.drop_table("push_subscriptions")
    op.drop_table("notification_preferences")
    with op.batch_alter_table("notifications") as batch:
        batch.drop_column("conversation_id")
