"""The attribute names an organization's contacts have had (BR-CAM-008.2).

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29 00:00:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "contact_attribute_names",
        sa.Column("organization_id", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("organization_id", "name"),
    )
    # The contacts already stored: their names, once, at upgrade time.
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        op.execute(
            "INSERT INTO contact_attribute_names (organization_id, name)"
            " SELECT DISTINCT organization_id, jsonb_object_keys(attributes::jsonb)"
            " FROM contacts ON CONFLICT DO NOTHING"
        )
    else:
        op.execute(
            "INSERT OR IGNORE INTO contact_attribute_names (organization_id, name)"
            " SELECT DISTINCT contacts.organization_id, attribute.key"
            " FROM contacts, json_each(contacts.attributes) AS attribute"
        )


def downgrade() -> None:
    op.drop_table("contact_attribute_names")
