"""The latest arrival time per rate limit, to re-seed a limiter that lost its state.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 00:00:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TIMESTAMP = sa.DateTime(timezone=True)
CODE_POINT_TEXT = sa.Text().with_variant(sa.Text(collation="C"), "postgresql")


def upgrade() -> None:
    op.create_table(
        "rate_limit_arrivals",
        sa.Column("limit_key", CODE_POINT_TEXT, nullable=False),
        sa.Column("arrival", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("limit_key"),
    )


def downgrade() -> None:
    op.drop_table("rate_limit_arrivals")
