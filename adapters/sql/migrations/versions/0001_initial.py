"""Initial schema: campaigns with their tag and channel facets, and the event outbox.

Revision ID: 0001
Revises:
Create Date: 2025-01-01 00:00:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen copies of the column types in adapters/sql/schema.py as of this revision.
CODE_POINT_TEXT = sa.Text().with_variant(sa.Text(collation="C"), "postgresql")
DOCUMENT = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
NULLABLE_DOCUMENT = sa.JSON(none_as_null=True).with_variant(
    postgresql.JSONB(none_as_null=True), "postgresql"
)
TIMESTAMP = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "campaigns",
        sa.Column("campaign_id", CODE_POINT_TEXT, nullable=False),
        sa.Column("organization_id", sa.Text(), nullable=False),
        sa.Column("name", CODE_POINT_TEXT, nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("campaign_type", sa.Text(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("spec", DOCUMENT, nullable=False),
        sa.Column("schedule", NULLABLE_DOCUMENT, nullable=True),
        sa.Column("next_run_at", TIMESTAMP, nullable=True),
        sa.Column("created_by", sa.Text(), nullable=False),
        sa.Column("updated_by", sa.Text(), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
        sa.Column("cloned_from_id", sa.Text(), nullable=True),
        sa.Column("request_id", sa.Text(), nullable=True),
        sa.Column("request_fingerprint", sa.Text(), nullable=True),
        sa.Column("paused_from", sa.Text(), nullable=True),
        sa.Column("winner_variant_id", sa.Text(), nullable=True),
        sa.Column("cancel_reason", sa.Text(), nullable=False),
        sa.Column("activated_at", TIMESTAMP, nullable=True),
        sa.Column("paused_at", TIMESTAMP, nullable=True),
        sa.Column("completed_at", TIMESTAMP, nullable=True),
        sa.Column("cancelled_at", TIMESTAMP, nullable=True),
        sa.PrimaryKeyConstraint("campaign_id", name="pk_campaigns"),
        sa.UniqueConstraint(
            "organization_id", "request_id", name="uq_campaigns_organization_id_request_id"
        ),
    )
    for columns in (
        ("organization_id", "created_at", "campaign_id"),
        ("organization_id", "updated_at", "campaign_id"),
        ("organization_id", "name", "campaign_id"),
        ("organization_id", "status"),
        ("organization_id", "next_run_at"),
    ):
        op.create_index(f"ix_campaigns_{'_'.join(columns)}", "campaigns", list(columns))

    for table, value in (("campaign_tags", "tag"), ("campaign_channels", "channel")):
        op.create_table(
            table,
            sa.Column("campaign_id", CODE_POINT_TEXT, nullable=False),
            sa.Column("organization_id", sa.Text(), nullable=False),
            sa.Column(value, sa.Text(), nullable=False),
            sa.ForeignKeyConstraint(
                ["campaign_id"],
                ["campaigns.campaign_id"],
                name=f"fk_{table}_campaign_id_campaigns",
                ondelete="CASCADE",
            ),
            sa.PrimaryKeyConstraint("campaign_id", value, name=f"pk_{table}"),
        )
        op.create_index(f"ix_{table}_organization_id_{value}", table, ["organization_id", value])

    op.create_table(
        "outbox_events",
        sa.Column(
            "seq",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("event_id", sa.Text(), nullable=False),
        sa.Column("organization_id", sa.Text(), nullable=False),
        sa.Column("event_type", sa.Text(), nullable=False),
        sa.Column("payload", DOCUMENT, nullable=False),
        sa.Column("occurred_at", TIMESTAMP, nullable=False),
        sa.Column("published_at", TIMESTAMP, nullable=True),
        sa.PrimaryKeyConstraint("seq", name="pk_outbox_events"),
        sa.UniqueConstraint("event_id", name="uq_outbox_events_event_id"),
        sqlite_autoincrement=True,
    )
    op.create_index(
        "ix_outbox_events_pending",
        "outbox_events",
        ["seq"],
        postgresql_where=sa.text("published_at IS NULL"),
        sqlite_where=sa.text("published_at IS NULL"),
    )


def downgrade() -> None:
    op.drop_table("outbox_events")
    op.drop_table("campaign_channels")
    op.drop_table("campaign_tags")
    op.drop_table("campaigns")
