"""Delivery feedback on messages: the first instant of each later status, the bounce type and
the provider's message id (domain.execution.feedback).

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-05 00:00:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TIMESTAMP = sa.DateTime(timezone=True)
STAMPS = ("opened_at", "clicked_at", "converted_at", "bounced_at", "unsubscribed_at")


def upgrade() -> None:
    with op.batch_alter_table("messages") as table:
        for name in STAMPS:
            table.add_column(sa.Column(name, TIMESTAMP, nullable=True))
        table.add_column(sa.Column("bounce_type", sa.Text(), nullable=False, server_default=""))
        table.add_column(
            sa.Column("provider_message_id", sa.Text(), nullable=False, server_default="")
        )


def downgrade() -> None:
    with op.batch_alter_table("messages") as table:
        table.drop_column("provider_message_id")
        table.drop_column("bounce_type")
        for name in reversed(STAMPS):
            table.drop_column(name)
