"""member_avatars: uploaded profile pictures, cropped square

Revision ID: i14_avatars
Revises: i16_sponsored
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "i14_avatars"
down_revision: str | None = "i16_sponsored"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "member_avatars",
        sa.Column("member_id", Id, nullable=False),
        sa.Column("version", sa.String(length=16), nullable=False),
        sa.Column("content_type", sa.String(length=50), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["member_id"], ["members.id"], name=op.f("fk_member_avatars_member_id_members"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("member_id", name=op.f("pk_member_avatars")),
    )


def downgrade() -> None:
    op.drop_table("member_avatars")
