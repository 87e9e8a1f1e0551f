"""Direct hand-overs marked per batch, in `handovers`, instead of per message row.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-29 00:00:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TIMESTAMP = sa.DateTime(timezone=True)
CODE_POINT_TEXT = sa.Text().with_variant(sa.Text(collation="C"), "postgresql")


def upgrade() -> None:
    op.create_table(
        "handovers",
        sa.Column("handover_id", sa.Text(), nullable=False),
        sa.Column("execution_id", sa.Text(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("first_user_id", CODE_POINT_TEXT, nullable=False),
        sa.Column("last_user_id", CODE_POINT_TEXT, nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("handed_over_at", TIMESTAMP, nullable=True),
        sa.PrimaryKeyConstraint("handover_id"),
    )
    op.create_index(
        "ix_handovers_execution_id_status", "handovers", ["execution_id", "status"]
    )
    op.add_column("messages", sa.Column("handover_id", sa.Text(), nullable=True))
    # Rows claimed under the old scheme have no batch: they go back to the relay, as the next
    # lease holder would have released them anyway (the broker drops a re-published id).
    op.execute("UPDATE messages SET status = 'queued' WHERE status = 'dispatching'")
    # Releases now find their rows by user range, through (execution_id, user_id).
    op.drop_index("ix_messages_dispatching", table_name="messages")


def downgrade() -> None:
    op.create_index(
        "ix_messages_dispatching",
        "messages",
        ["execution_id"],
        postgresql_where=sa.text("status = 'dispatching'"),
        sqlite_where=sa.text("status = 'dispatching'"),
    )
    # What the batches record, written back onto their rows, which is all an older release reads.
    op.execute(
        "UPDATE messages SET status = handovers.status,"
        " sent_at = handovers.handed_over_at,"
        " delivered_at = CASE WHEN handovers.status = 'delivered'"
        " THEN handovers.handed_over_at END"
        " FROM handovers WHERE messages.handover_id = handovers.handover_id"
        " AND messages.status = 'dispatching' AND handovers.status <> 'claimed'"
    )
    with op.batch_alter_table("messages") as table:
        table.drop_column("handover_id")
    op.drop_table("handovers")
