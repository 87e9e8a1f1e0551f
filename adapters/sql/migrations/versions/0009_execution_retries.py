"""Retries of failed runs: attempts, the latest reason, and the next attempt's instant.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01 00:00:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TIMESTAMP = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("executions") as table:
        table.add_column(
            sa.Column("attempts", sa.Integer(), nullable=False, server_default="0")
        )
        table.add_column(sa.Column("last_error", sa.Text(), nullable=False, server_default=""))
        table.add_column(sa.Column("next_attempt_at", TIMESTAMP, nullable=True))
    # A run released to wait (its lease_expires_at kept every executor away until then) waits
    # as long; every other run is next due at its due_at, as the old queue ordered them.
    op.execute(
        "UPDATE executions SET next_attempt_at = CASE"
        " WHEN lease_owner IS NULL AND lease_expires_at IS NOT NULL THEN lease_expires_at"
        " ELSE due_at END"
    )
    op.execute(
        "UPDATE executions SET lease_expires_at = NULL"
        " WHERE lease_owner IS NULL AND lease_expires_at IS NOT NULL"
    )
    with op.batch_alter_table("executions") as table:
        table.alter_column("next_attempt_at", existing_type=TIMESTAMP, nullable=False)
    op.create_index(
        "ix_executions_status_next_attempt_at", "executions", ["status", "next_attempt_at"]
    )
    op.create_index(
        "ix_executions_organization_id_lease_owner",
        "executions",
        ["organization_id", "lease_owner"],
    )


def downgrade() -> None:
    op.drop_index("ix_executions_organization_id_lease_owner", table_name="executions")
    op.drop_index("ix_executions_status_next_attempt_at", table_name="executions")
    # The old queue kept a waiting run away through lease_expires_at.
    op.execute(
        "UPDATE executions SET lease_expires_at = next_attempt_at"
        " WHERE lease_owner IS NULL AND next_attempt_at > due_at"
    )
    with op.batch_alter_table("executions") as table:
        table.drop_column("next_attempt_at")
        table.drop_column("last_error")
        table.drop_column("attempts")
