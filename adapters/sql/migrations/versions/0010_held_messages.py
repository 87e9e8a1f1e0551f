"""Deferred and held messages: the relay's index covers deferred rows, held rows get their own.

A message deferred by a rate limit is now stored `deferred` (it holds its throttle slot) and the
relay hands it over when its slot comes, as it did while such rows were stored `queued`; a
message held by quiet hours, a weekend or a pause is stored `held` (no slot yet) until the
executor reserves one. Each message also keeps its recipient's time zone, in which a held
message's new slot is checked. Rows written before keep working: queued rows, whatever their
send_after, are still relayed when due.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-05 00:00:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

RELAYED = "status IN ('queued', 'deferred')"
HELD = "status = 'held'"


def upgrade() -> None:
    with op.batch_alter_table("messages") as table:
        table.add_column(sa.Column("timezone", sa.Text(), nullable=False, server_default=""))
    op.create_index(
        "ix_messages_due",
        "messages",
        ["send_after"],
        postgresql_where=sa.text(RELAYED),
        sqlite_where=sa.text(RELAYED),
    )
    op.drop_index("ix_messages_queued", table_name="messages")
    op.create_index(
        "ix_messages_held",
        "messages",
        ["execution_id", "send_after"],
        postgresql_where=sa.text(HELD),
        sqlite_where=sa.text(HELD),
    )


def downgrade() -> None:
    # The old relay knew none of these states: it gets deferred and held rows back as queued, at
    # their send_after (a held row's is the end of its window); a cancelled row reads as failed.
    op.execute("UPDATE messages SET status = 'queued' WHERE status IN ('deferred', 'held')")
    op.execute("UPDATE messages SET status = 'failed' WHERE status = 'cancelled'")
    op.drop_index("ix_messages_held", table_name="messages")
    op.drop_index("ix_messages_due", table_name="messages")
    with op.batch_alter_table("messages") as table:
        table.drop_column("timezone")
    op.create_index(
        "ix_messages_queued",
        "messages",
        ["send_after"],
        postgresql_where=sa.text("status = 'queued'"),
        sqlite_where=sa.text("status = 'queued'"),
    )
