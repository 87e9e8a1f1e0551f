"""Conversions (docs/conversions.md): the credits an event of a campaign's conversion type gave
its messages (or a holdout member), the holdout members a run records with each batch, and the
campaigns' conversion event type as a column an inbound event finds them by.

`campaigns.conversion_event_type` is filled from each stored definition. The holdout rows are
keyed (execution_id, user_id), which is also how a conversion looks them up (as the messages'
(execution_id, user_id) index is): no index is added to the messages table, whose COPY a run
pays for per index.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-05 06:00:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TIMESTAMP = sa.DateTime(timezone=True)
CODE_POINT_TEXT = sa.Text().with_variant(sa.Text(collation="C"), "postgresql")
EVENT_TYPE_OF_SPEC = {
    "postgresql": "spec -> 'conversion' ->> 'event_type'",
    "sqlite": "json_extract(spec, '$.conversion.event_type')",
}


def upgrade() -> None:
    with op.batch_alter_table("campaigns") as table:
        table.add_column(sa.Column("conversion_event_type", sa.Text(), nullable=True))
        table.create_index(
            "ix_campaigns_organization_id_conversion_event_type",
            ["organization_id", "conversion_event_type"],
        )
    dialect = op.get_bind().dialect.name
    op.execute(f"UPDATE campaigns SET conversion_event_type = {EVENT_TYPE_OF_SPEC[dialect]}")
    op.create_table(
        "holdout_members",
        sa.Column("execution_id", sa.Text(), nullable=False),
        sa.Column("user_id", CODE_POINT_TEXT, nullable=False),
        sa.Column("organization_id", sa.Text(), nullable=False),
        sa.Column("campaign_id", sa.Text(), nullable=False),
        sa.Column("held_out_at", TIMESTAMP, nullable=False),
        sa.Column("converted_at", TIMESTAMP, nullable=True),
        sa.PrimaryKeyConstraint("execution_id", "user_id", name="pk_holdout_members"),
    )
    op.create_table(
        "conversions",
        sa.Column("organization_id", sa.Text(), nullable=False),
        sa.Column("user_id", CODE_POINT_TEXT, nullable=False),
        sa.Column("event_id", CODE_POINT_TEXT, nullable=False),
        sa.Column("campaign_id", CODE_POINT_TEXT, nullable=False),
        sa.Column("message_id", sa.Text(), nullable=False),
        sa.Column("execution_id", sa.Text(), nullable=False),
        sa.Column("variant_id", sa.Text(), nullable=False),
        sa.Column("channel", sa.Text(), nullable=False),
        sa.Column("holdout", sa.Boolean(), nullable=False),
        sa.Column("value_share", sa.Float(), nullable=False),
        sa.Column("converted_at", TIMESTAMP, nullable=False),
        sa.Column("recorded_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint(
            "organization_id",
            "user_id",
            "event_id",
            "campaign_id",
            "message_id",
            name="pk_conversions",
        ),
    )
    op.create_index(
        "ix_conversions_organization_id_campaign_id_converted_at",
        "conversions",
        ["organization_id", "campaign_id", "converted_at"],
    )


def downgrade() -> None:
    op.drop_index(
        "ix_conversions_organization_id_campaign_id_converted_at", table_name="conversions"
    )
    op.drop_table("conversions")
    op.drop_table("holdout_members")
    with op.batch_alter_table("campaigns") as table:
        table.drop_index("ix_campaigns_organization_id_conversion_event_type")
        table.drop_column("conversion_event_type")
