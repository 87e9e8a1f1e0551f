"""The relational schema: one MetaData shared by the repositories and by Alembic's autogenerate.

A campaign is one row holding its whole definition as JSON, plus the columns the list RPC filters
and sorts on. Tags and channels live in facet tables so "has all these tags" and "sends on this
channel" are indexed lookups instead of JSON scans that would differ between the two databases.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
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


def _timestamp(name: str, *, nullable: bool = True) -> Column[Any]:
    return Column(name, UtcDateTime(), nullable=nullable)


campaigns = Table(
    "campaigns",
    metadata,
    Column("campaign_id", CodePointText, primary_key=True),
    Column("organization_id", Text, nullable=False),
    Column("name", CodePointText, nullable=False),
    Column("description", Text, nullable=False),
    Column("campaign_type", Text, nullable=False),
    Column("status", Text, nullable=False),
    Column("version", Integer, nullable=False),
    Column("spec", Document, nullable=False),
    Column("schedule", NullableDocument, nullable=True),
    _timestamp("next_run_at"),
    Column("created_by", Text, nullable=False),
    Column("updated_by", Text, nullable=False),
    _timestamp("created_at", nullable=False),
    _timestamp("updated_at", nullable=False),
    Column("cloned_from_id", Text),
    Column("request_id", Text),
    Column("request_fingerprint", Text),
    Column("paused_from", Text),
    Column("winner_variant_id", Text),
    Column("cancel_reason", Text, nullable=False),
    _timestamp("activated_at"),
    _timestamp("paused_at"),
    _timestamp("completed_at"),
    _timestamp("cancelled_at"),
    # NULLs never collide, so campaigns created without a request_id are unconstrained.
    UniqueConstraint("organization_id", "request_id"),
    Index(None, "organization_id", "created_at", "campaign_id"),
    Index(None, "organization_id", "updated_at", "campaign_id"),
    Index(None, "organization_id", "name", "campaign_id"),
    Index(None, "organization_id", "status"),
    Index(None, "organization_id", "next_run_at"),
)


def _facet(name: str, value_column: str) -> Table:
    return Table(
        name,
        metadata,
        Column(
            "campaign_id",
            CodePointText,
            ForeignKey(campaigns.c.campaign_id, ondelete="CASCADE"),
            nullable=False,
        ),
        Column("organization_id", Text, nullable=False),
        Column(value_column, Text, nullable=False),
        PrimaryKeyConstraint("campaign_id", value_column),
        Index(None, "organization_id", value_column),
    )


campaign_tags = _facet("campaign_tags", "tag")
# Channels of the campaign and of all its variants: "sends on email" in any arm.
campaign_channels = _facet("campaign_channels", "channel")

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
    _timestamp("occurred_at", nullable=False),
    _timestamp("published_at"),
    sqlite_autoincrement=True,  # never reuse a seq, so relay order stays insertion order
)

# Partial: the relay only ever looks for pending rows, which stay few however big the table.
Index(
    "ix_outbox_events_pending",
    outbox_events.c.seq,
    postgresql_where=outbox_events.c.published_at.is_(None),
    sqlite_where=outbox_events.c.published_at.is_(None),
)

from adapters.sql import audience_tables as _audience_tables  # noqa: E402, F401
