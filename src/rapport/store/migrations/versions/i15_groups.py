"""groups: visibility and join requests; conversation titles; mentions and system lines

Revision ID: i15_groups
Revises: i17_insight
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "i15_groups"
down_revision: str | None = "i17_insight"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("groups", schema=None) as batch_op:
        batch_op.add_column(sa.Column("visibility", sa.String(length=10), server_default="request", nullable=False))
    with op.batch_alter_table("group_members", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_group_members_group_id_role"), ["group_id", "role"], unique=False)
    op.create_table(
        "group_requests",
        sa.Column("group_id", Id, nullable=False),
        sa.Column("member_id", Id, nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["group_id"], ["groups.id"], name=op.f("fk_group_requests_group_id_groups"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["member_id"], ["members.id"], name=op.f("fk_group_requests_member_id_members"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("group_id", "member_id", name=op.f("pk_group_requests")),
    )
    with op.batch_alter_table("group_requests", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_group_requests_member_id"), ["member_id"], unique=False)
    with op.batch_alter_table("conversations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("title", sa.String(length=100), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_conversations_created_by_kind_created_at"),
            ["created_by", "kind", "created_at"],
            unique=False,
        )
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("mentions", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("system", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_column("system")
        batch_op.drop_column("mentions")
    with op.batch_alter_table("conversations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_conversations_created_by_kind_created_at"))
        batch_op.drop_column("title")
    with op.batch_alter_table("group_requests", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_group_requests_member_id"))
    op.drop_table("group_requests")
    with op.batch_alter_table("group_members", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_group_members_group_id_role"))
    with op.batch_alter_table("groups", schema=None) as batch_op:
        batch_op.drop_column("visibility")
