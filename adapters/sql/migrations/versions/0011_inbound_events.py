"""The inbound events ledger: the ids of the events that took effect, per organization.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-05 00:00:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TIMESTAMP = sa.DateTime(timezone=True)
CODE_POINT_TEXT = sa.Text().with_variant(sa.Text(collation="C"), "postgresql")


def upgrade() -> None:
    op.create_table(
        "inbound_events",
        sa.Column("organization_id", sa.Text(), nullable=False),
        sa.Column("event_id", CODE_POINT_TEXT, nullable=False),
        sa.Column("event_type", sa.Text(), nullable=False),
        sa.Column("user_id", CODE_POINT_TEXT, nullable=False),
        sa.Column("door", sa.Text(), nullable=False),
        sa.Column("occurred_at", TIMESTAMP, nullable=False),
        sa.Column("received_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("organization_id", "event_id"),
    )
    op.create_index(
        "ix_inbound_events_received_at", "inbound_events", ["received_at"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_inbound_events_received_at", table_name="inbound_events")
    op.drop_table("inbound_events")
