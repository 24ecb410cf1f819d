"""sponsored messages: advertisers, campaigns, their delivery shards, deliveries, caps, leads

Revision ID: i16_sponsored
Revises: i15_groups
Create Date: 2026-11-29 14:22:17

A delivery row per campaign x member is the unique key that keeps a resumed delivery from
sending anyone a second copy. Opens and clicks are counters on the campaign.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "i16_sponsored"
down_revision: str | None = "i15_groups"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
When = sa.DateTime(timezone=True)


def _fk(table: str, column: str, target: str, ondelete: str = "CASCADE") -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column], [f"{target}.id"], name=op.f(f"fk_{table}_{column}_{target}"), ondelete=ondelete
    )


def upgrade() -> None:
    op.create_table(
        "advertisers",
        sa.Column("member_id", Id, nullable=False),
        sa.Column("granted_at", When, nullable=False),
        _fk("advertisers", "member_id", "members"),
        sa.PrimaryKeyConstraint("member_id", name=op.f("pk_advertisers")),
    )
    op.create_table(
        "campaigns",
        sa.Column("id", Id, autoincrement=True, nullable=False),
        sa.Column("advertiser_id", Id, nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("subject", sa.String(length=60), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("banner_attachment_id", Id, nullable=True),
        sa.Column("buttons", sa.Text(), nullable=False),
        sa.Column("lead_form", sa.Text(), nullable=True),
        sa.Column("audience", sa.Text(), nullable=False),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("audience_size", sa.Integer(), server_default="0", nullable=False),
        sa.Column("delivered", sa.Integer(), server_default="0", nullable=False),
        sa.Column("skipped", sa.Integer(), server_default="0", nullable=False),
        sa.Column("opened", sa.Integer(), server_default="0", nullable=False),
        sa.Column("clicked", sa.Integer(), server_default="0", nullable=False),
        sa.Column("leads", sa.Integer(), server_default="0", nullable=False),
        sa.Column("shards_pending", sa.Integer(), server_default="0", nullable=False),
        sa.Column("created_at", When, nullable=False),
        sa.Column("launched_at", When, nullable=True),
        sa.Column("finished_at", When, nullable=True),
        _fk("campaigns", "advertiser_id", "members"),
        _fk("campaigns", "banner_attachment_id", "attachments", "SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_campaigns")),
    )
    op.create_index(op.f("ix_campaigns_advertiser_id_id"), "campaigns", ["advertiser_id", "id"])
    op.create_table(
        "campaign_shards",
        sa.Column("campaign_id", Id, nullable=False),
        sa.Column("shard", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("next_id", sa.BigInteger(), nullable=False),
        sa.Column("end_id", sa.BigInteger(), nullable=False),
        sa.Column("done", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        _fk("campaign_shards", "campaign_id", "campaigns"),
        sa.PrimaryKeyConstraint("campaign_id", "shard", name=op.f("pk_campaign_shards")),
    )
    op.create_table(
        "sponsored_deliveries",
        sa.Column("campaign_id", Id, nullable=False),
        sa.Column("member_id", Id, nullable=False),
        sa.Column("conversation_id", Id, nullable=False),
        sa.Column("message_id", Id, nullable=False),
        sa.Column("delivered_at", When, nullable=False),
        sa.Column("clicked", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("declined", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        _fk("sponsored_deliveries", "campaign_id", "campaigns"),
        _fk("sponsored_deliveries", "member_id", "members"),
        _fk("sponsored_deliveries", "conversation_id", "conversations"),
        sa.PrimaryKeyConstraint("campaign_id", "member_id", name=op.f("pk_sponsored_deliveries")),
        sa.UniqueConstraint("conversation_id", name=op.f("uq_sponsored_deliveries_conversation_id")),
    )
    op.create_index(op.f("ix_sponsored_deliveries_member_id"), "sponsored_deliveries", ["member_id"])
    op.create_table(
        "sponsored_caps",
        sa.Column("member_id", Id, nullable=False),
        sa.Column("last_received_at", When, nullable=False),
        _fk("sponsored_caps", "member_id", "members"),
        sa.PrimaryKeyConstraint("member_id", name=op.f("pk_sponsored_caps")),
    )
    op.create_table(
        "campaign_leads",
        sa.Column("id", Id, autoincrement=True, nullable=False),
        sa.Column("campaign_id", Id, nullable=False),
        sa.Column("member_id", Id, nullable=False),
        sa.Column("answers", sa.Text(), nullable=False),
        sa.Column("submitted_at", When, nullable=False),
        _fk("campaign_leads", "campaign_id", "campaigns"),
        _fk("campaign_leads", "member_id", "members"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_campaign_leads")),
        sa.UniqueConstraint("campaign_id", "member_id", name=op.f("uq_campaign_leads_campaign_id_member_id")),
    )


def downgrade() -> None:
    for table in (
        "campaign_leads",
        "sponsored_caps",
        "sponsored_deliveries",
        "campaign_shards",
        "campaigns",
        "advertisers",
    ):
        op.drop_table(table)
