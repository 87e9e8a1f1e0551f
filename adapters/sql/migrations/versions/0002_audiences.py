"""Built-in audience: contacts, saved segments and the suppression list.

Revision ID: 0002
Revises: 0001
Create Date: 2025-01-02 00:00:00

Only new tables, so nothing needs SQLite's batch mode (it is only for altering existing ones);
the same operations run unchanged on both databases.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen copies of the column types in adapters/sql/schema.py as of this revision.
CODE_POINT_TEXT = sa.Text().with_variant(sa.Text(collation="C"), "postgresql")
DOCUMENT = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
TIMESTAMP = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "contacts",
        sa.Column("organization_id", sa.Text(), nullable=False),
        sa.Column("user_id", CODE_POINT_TEXT, nullable=False),
        sa.Column("email", sa.Text(), nullable=False),
        sa.Column("phone", sa.Text(), nullable=False),
        sa.Column("whatsapp_verified", sa.Boolean(), nullable=False),
        sa.Column("timezone", sa.Text(), nullable=False),
        sa.Column("locale", sa.Text(), nullable=False),
        sa.Column("email_opted_in", sa.Boolean(), nullable=False),
        sa.Column("sms_opted_in", sa.Boolean(), nullable=False),
        sa.Column("whatsapp_opted_in", sa.Boolean(), nullable=False),
        sa.Column("in_app_opted_in", sa.Boolean(), nullable=False),
        sa.Column("attributes", DOCUMENT, nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("organization_id", "user_id", name="pk_contacts"),
    )
    op.create_table(
        "segments",
        sa.Column("organization_id", sa.Text(), nullable=False),
        sa.Column("segment_id", CODE_POINT_TEXT, nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("conditions", DOCUMENT, nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("organization_id", "segment_id", name="pk_segments"),
    )
    op.create_table(
        "suppressions",
        sa.Column("organization_id", sa.Text(), nullable=False),
        sa.Column("kind", CODE_POINT_TEXT, nullable=False),
        sa.Column("target", CODE_POINT_TEXT, nullable=False),
        sa.Column("channel", CODE_POINT_TEXT, nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        # Also the index of lookups by user and by address: (organization_id, kind, target).
        sa.PrimaryKeyConstraint(
            "organization_id", "kind", "target", "channel", name="pk_suppressions"
        ),
    )


def downgrade() -> None:
    op.drop_table("suppressions")
    op.drop_table("segments")
    op.drop_table("contacts")
