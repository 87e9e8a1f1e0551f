"""Trigger evaluations keyed by (organization, campaign, time, id): the listing index by campaign
becomes the primary key, and the index of the evaluation id alone goes.

Every trigger-source event writes one evaluation per active triggered campaign of its
organization, and pg_stat_statements during trigger-latency put that COPY at three quarters of
the database's statement time, 23 us a row: each row went into three B-trees, one of them keyed
by a random id (the derived evaluation id), whose inserts land anywhere in an index that outgrows
the buffer cache (docs/performance.md, "Trigger evaluations' keys"). An evaluation is still
recorded once: the intake takes each event once per (organization, event id) (the events ledger),
and the key still holds the evaluation id.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-05 17:00:00

"""

from collections.abc import Sequence

from alembic import op

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLE = "trigger_evaluations"
BY_CAMPAIGN = "ix_trigger_evaluations_by_campaign"
KEY = ["organization_id", "campaign_id", "evaluated_at", "evaluation_id"]


def upgrade() -> None:
    op.drop_index(BY_CAMPAIGN, table_name=TABLE)
    with op.batch_alter_table(TABLE) as table:
        table.drop_constraint("pk_trigger_evaluations", type_="primary")
        table.create_primary_key("pk_trigger_evaluations", KEY)


def downgrade() -> None:
    with op.batch_alter_table(TABLE) as table:
        table.drop_constraint("pk_trigger_evaluations", type_="primary")
        table.create_primary_key("pk_trigger_evaluations", ["evaluation_id"])
    op.create_index(BY_CAMPAIGN, TABLE, KEY)
