"""Trigger evaluations: every (campaign, event, trigger) evaluated, with its outcome.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-05 00:00:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TIMESTAMP = sa.DateTime(timezone=True)
CODE_POINT_TEXT = sa.Text().with_variant(sa.Text(collation="C"), "postgresql")
DOCUMENT = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
FIRING = "outcome IN ('fired', 'deferred')"


def upgrade() -> None:
    op.create_table(
        "trigger_evaluations",
        sa.Column("evaluation_id", sa.Text(), nullable=False),
        sa.Column("organization_id", sa.Text(), nullable=False),
        sa.Column("campaign_id", CODE_POINT_TEXT, nullable=False),
        sa.Column("trigger_id", sa.Text(), nullable=False),
        sa.Column("event_id", CODE_POINT_TEXT, nullable=False),
        sa.Column("event_type", sa.Text(), nullable=False),
        sa.Column("user_id", CODE_POINT_TEXT, nullable=False),
        sa.Column("outcome", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("message_ids", DOCUMENT, nullable=False),
        sa.Column("evaluated_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("evaluation_id", name="pk_trigger_evaluations"),
        sa.UniqueConstraint(
            "campaign_id",
            "event_id",
            "trigger_id",
            name="uq_trigger_evaluations_campaign_id_event_id_trigger_id",
        ),
    )
    op.create_index(
        "ix_trigger_evaluations_by_campaign",
        "trigger_evaluations",
        ["organization_id", "campaign_id", "evaluated_at", "evaluation_id"],
    )
    op.create_index(
        "ix_trigger_evaluations_by_user",
        "trigger_evaluations",
        ["organization_id", "user_id", "evaluated_at", "evaluation_id"],
    )
    op.create_index(
        "ix_trigger_evaluations_fired",
        "trigger_evaluations",
        ["campaign_id", "user_id", "trigger_id", "evaluated_at"],
        postgresql_where=sa.text(FIRING),
        sqlite_where=sa.text(FIRING),
    )


def downgrade() -> None:
    op.drop_index("ix_trigger_evaluations_fired", table_name="trigger_evaluations")
    op.drop_index(
        "ix_trigger_evaluations_by_user",
        table_name="trigger_evaluations",
    )
    op.drop_index(
        "ix_trigger_evaluations_by_campaign",
        table_name="trigger_evaluations",
    )
    op.drop_table("trigger_evaluations")
