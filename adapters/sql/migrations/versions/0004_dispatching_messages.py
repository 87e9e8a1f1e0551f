"""Messages claimed for direct hand-over by the executor that wrote them.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29 00:00:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_messages_dispatching",
        "messages",
        ["execution_id"],
        postgresql_where=sa.text("status = 'dispatching'"),
        sqlite_where=sa.text("status = 'dispatching'"),
    )


def downgrade() -> None:
    # Claimed rows go back to the relay, which is all an older release knows.
    op.execute("UPDATE messages SET status = 'queued' WHERE status = 'dispatching'")
    op.drop_index("ix_messages_dispatching", table_name="messages")
