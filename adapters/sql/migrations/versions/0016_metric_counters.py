"""Metric counters: one row per (cell, shard) with every funnel counter (docs/metrics.md), and
the segment of each message (its campaign's first include audience), the key of the segment
breakdown. The column defaults to "" so the rows written before read as "no segment", and a
run's COPY pays nothing more than one short text per row.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-05 06:00:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TIMESTAMP = sa.DateTime(timezone=True)
COUNTERS = (
    "queued",
    "sent",
    "delivered",
    "opened",
    "clicked",
    "converted",
    "bounced",
    "failed",
    "unsubscribed",
    "holdout",
)
TOTALS = ("holdout_converted", "opens_total", "clicks_total")


def upgrade() -> None:
    op.create_table(
        "metric_counters",
        sa.Column("organization_id", sa.Text(), nullable=False),
        sa.Column("campaign_id", sa.Text(), nullable=False),
        sa.Column("execution_id", sa.Text(), nullable=False),
        sa.Column("variant_id", sa.Text(), nullable=False),
        sa.Column("channel", sa.Text(), nullable=False),
        sa.Column("segment_id", sa.Text(), nullable=False),
        sa.Column("shard", sa.Integer(), nullable=False),
        *(sa.Column(n, sa.BigInteger(), nullable=False, server_default="0") for n in COUNTERS),
        sa.Column("conversion_value", sa.Double(), nullable=False, server_default="0"),
        *(sa.Column(n, sa.BigInteger(), nullable=False, server_default="0") for n in TOTALS),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint(
            "organization_id",
            "campaign_id",
            "execution_id",
            "variant_id",
            "channel",
            "segment_id",
            "shard",
            name="pk_metric_counters",
        ),
    )
    with op.batch_alter_table("messages") as table:
        table.add_column(sa.Column("segment_id", sa.Text(), nullable=False, server_default=""))


def downgrade() -> None:
    with op.batch_alter_table("messages") as table:
        table.drop_column("segment_id")
    op.drop_table("metric_counters")
