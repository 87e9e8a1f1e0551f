"""The relational schema's shared parts: column types, the one MetaData, and the outbox table.

Each context declares its tables on this MetaData (adapters.sql.campaigns.tables, audience.tables,
execution.tables); Alembic compares against all of them (migrations/env.py)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    DateTime,
    Dialect,
    Index,
    Integer,
    MetaData,
    Table,
    Text,
    TypeDecorator,
)
from sqlalchemy.dialects.postgresql import JSONB


class UtcDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in and out, on Postgres (timestamptz) and SQLite (naive UTC text).

    SQLite has no time zone type; storing every instant as naive UTC in one fixed-width format
    keeps text order equal to time order, so range filters and keyset pages work there too.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: the service stores instants in UTC")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


# Python orders str by code point; the "C" collation makes Postgres agree (SQLite's default
# BINARY collation already does), so names and ids sort identically on every adapter.
CodePointText = Text().with_variant(Text(collation="C"), "postgresql")
Document = JSON().with_variant(JSONB(), "postgresql")
NullableDocument = JSON(none_as_null=True).with_variant(JSONB(none_as_null=True), "postgresql")

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)


def timestamp_column(name: str, *, nullable: bool = True) -> Column[Any]:
    return Column(name, UtcDateTime(), nullable=nullable)


outbox_events = Table(
    "outbox_events",
    metadata,
    Column(
        "seq",
        BigInteger().with_variant(Integer(), "sqlite"),  # SQLite autoincrements INTEGER only
        primary_key=True,
        autoincrement=True,
    ),
    Column("event_id", Text, nullable=False, unique=True),
    Column("organization_id", Text, nullable=False),
    Column("event_type", Text, nullable=False),
    Column("payload", Document, nullable=False),
    timestamp_column("occurred_at", nullable=False),
    timestamp_column("published_at"),
    # The W3C traceparent (+ "\n" + tracestate) of the span that recorded the event, sent in the
    # NATS headers by the relay; null when tracing was off (docs/observability-traces.md).
    Column("trace_context", Text),
    sqlite_autoincrement=True,  # never reuse a seq, so relay order stays insertion order
)

# Partial: the relay only ever looks for pending rows, which stay few however big the table.
Index(
    "ix_outbox_events_pending",
    outbox_events.c.seq,
    postgresql_where=outbox_events.c.published_at.is_(None),
    sqlite_where=outbox_events.c.published_at.is_(None),
)
