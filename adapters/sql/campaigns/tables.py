"""The campaigns table and its facets, the only columns the list RPC filters on besides it.

A campaign is one row holding its whole definition as JSON, plus the columns listing filters on."""

from __future__ import annotations

from sqlalchemy import (
    Column,
    ForeignKey,
    Index,
    Integer,
    PrimaryKeyConstraint,
    Table,
    Text,
    UniqueConstraint,
)

from adapters.sql.schema import (
    CodePointText,
    Document,
    NullableDocument,
    metadata,
    timestamp_column,
)

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
    timestamp_column("next_run_at"),
    Column("created_by", Text, nullable=False),
    Column("updated_by", Text, nullable=False),
    timestamp_column("created_at", nullable=False),
    timestamp_column("updated_at", nullable=False),
    Column("cloned_from_id", Text),
    Column("request_id", Text),
    Column("request_fingerprint", Text),
    Column("paused_from", Text),
    Column("winner_variant_id", Text),
    Column("cancel_reason", Text, nullable=False),
    timestamp_column("activated_at"),
    timestamp_column("paused_at"),
    timestamp_column("completed_at"),
    timestamp_column("cancelled_at"),
    # A copy of the spec's conversion.event_type (null without one): an inbound event finds the
    # campaigns it converts through the index below (docs/conversions.md).
    Column("conversion_event_type", Text),
    # NULLs never collide, so campaigns created without a request_id are unconstrained.
    UniqueConstraint("organization_id", "request_id"),
    Index(None, "organization_id", "created_at", "campaign_id"),
    Index(None, "organization_id", "updated_at", "campaign_id"),
    Index(None, "organization_id", "name", "campaign_id"),
    Index(None, "organization_id", "status"),
    Index(None, "organization_id", "next_run_at"),
    Index(None, "organization_id", "conversion_event_type"),
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
