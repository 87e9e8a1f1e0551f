"""Trigger evaluations keep one unique key: the primary key. The evaluation id is derived from
(campaign, trigger, event) (domain.events.trigger_model.evaluation_id), so the unique constraint
on those three columns enforced the same thing a second time, at the cost of a second unique
index to maintain on every evaluation written: every inbound event that is a trigger source
writes one row per active triggered campaign of its organization (docs/performance.md).

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-05 12:00:00

"""

from collections.abc import Sequence

from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CONSTRAINT = "uq_trigger_evaluations_campaign_id_event_id_trigger_id"


def upgrade() -> None:
    with op.batch_alter_table("trigger_evaluations") as table:
        table.drop_constraint(CONSTRAINT, type_="unique")


def downgrade() -> None:
    with op.batch_alter_table("trigger_evaluations") as table:
        table.create_unique_constraint(CONSTRAINT, ["campaign_id", "event_id", "trigger_id"])
