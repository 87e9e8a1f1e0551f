"""Channel fallback on outcome: a message sent because another failed names it in `fallback_of`.

Null for every other message (and for every row written before), so the column costs a run's
COPY nothing. No index: a fallback is found by its derived id, never by this column.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-05 03:00:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("messages") as table:
        table.add_column(sa.Column("fallback_of", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("messages") as table:
        table.drop_column("fallback_of")
