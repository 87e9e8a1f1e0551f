"""Executions and their messages (the delivery outbox).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29 00:00:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen copies of the column types in adapters/sql as of this revision.
CODE_POINT_TEXT = sa.Text().with_variant(sa.Text(collation="C"), "postgresql")
DOCUMENT = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
TIMESTAMP = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "executions",
        sa.Column("execution_id", sa.Text(), nullable=False),
        sa.Column("organization_id", sa.Text(), nullable=False),
        sa.Column("campaign_id", CODE_POINT_TEXT, nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("trigger", sa.Text(), nullable=False),
        sa.Column("due_at", TIMESTAMP, nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("started_at", TIMESTAMP, nullable=True),
        sa.Column("completed_at", TIMESTAMP, nullable=True),
        sa.Column("missed_firing", sa.Boolean(), nullable=False),
        sa.Column("cursor", CODE_POINT_TEXT, nullable=False),
        sa.Column("fanned_out", sa.Boolean(), nullable=False),
        sa.Column("counts", DOCUMENT, nullable=False),
        sa.Column("failure_reason", sa.Text(), nullable=False),
        sa.Column("lease_owner", sa.Text(), nullable=True),
        sa.Column("lease_expires_at", TIMESTAMP, nullable=True),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["campaigns.campaign_id"],
            name="fk_executions_campaign_id_campaigns",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("execution_id", name="pk_executions"),
        sa.UniqueConstraint("campaign_id", "due_at", name="uq_executions_campaign_id_due_at"),
    )
    op.create_index(
        "ix_executions_status_lease_expires_at", "executions", ["status", "lease_expires_at"]
    )
    op.create_index(
        "ix_executions_organization_id_campaign_id_created_at",
        "executions",
        ["organization_id", "campaign_id", "created_at"],
    )
    op.create_table(
        "messages",
        sa.Column("message_id", sa.Text(), nullable=False),
        sa.Column("organization_id", sa.Text(), nullable=False),
        sa.Column("campaign_id", sa.Text(), nullable=False),
        sa.Column("execution_id", sa.Text(), nullable=False),
        sa.Column("user_id", CODE_POINT_TEXT, nullable=False),
        sa.Column("variant_id", sa.Text(), nullable=False),
        sa.Column("channel", sa.Text(), nullable=False),
        sa.Column("recipient", sa.Text(), nullable=False),
        sa.Column("content", DOCUMENT, nullable=False),
        sa.Column("content_digest", sa.Text(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("send_after", TIMESTAMP, nullable=False),
        sa.Column("queued_at", TIMESTAMP, nullable=False),
        sa.Column("sent_at", TIMESTAMP, nullable=True),
        sa.Column("delivered_at", TIMESTAMP, nullable=True),
        sa.Column("failed_at", TIMESTAMP, nullable=True),
        sa.Column("error", sa.Text(), nullable=False),
        sa.Column("idempotency_key", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("message_id", name="pk_messages"),
        sa.UniqueConstraint(
            "organization_id",
            "campaign_id",
            "idempotency_key",
            name="uq_messages_organization_id_campaign_id_idempotency_key",
        ),
    )
    op.create_index("ix_messages_execution_id_user_id", "messages", ["execution_id", "user_id"])
    op.create_index(
        "ix_messages_organization_id_campaign_id_queued_at",
        "messages",
        ["organization_id", "campaign_id", "queued_at"],
    )
    op.create_index(
        "ix_messages_queued",
        "messages",
        ["send_after"],
        postgresql_where=sa.text("status = 'queued'"),
        sqlite_where=sa.text("status = 'queued'"),
    )


def downgrade() -> None:
    op.drop_table("messages")
    op.drop_table("executions")
