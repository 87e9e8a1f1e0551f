"""Trace context: the W3C traceparent (and tracestate, after a newline) of the span that wrote an
outbox row (an event, or a message written alone, such as a transactional send), so the relay
can send it in the NATS headers and a consumer continues the trace
(docs/observability-traces.md). Nullable: rows written before, with tracing off, or by a run's
COPY (its messages carry the run's trace from the hand-over instead) carry none.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-05 09:00:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


TABLES = ("outbox_events", "messages")


def upgrade() -> None:
    for name in TABLES:
        with op.batch_alter_table(name) as table:
            table.add_column(sa.Column("trace_context", sa.Text(), nullable=True))


def downgrade() -> None:
    for name in TABLES:
        with op.batch_alter_table(name) as table:
            table.drop_column("trace_context")
