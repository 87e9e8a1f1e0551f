"""The inbound events ledger: one row per (organization, event_id) that took effect.

The primary key is the idempotency rule itself: the row is inserted in the transaction of the
event's effects, so a second delivery of the id (another door, a redelivery, a concurrent
replica) conflicts with it and changes nothing.
"""

from __future__ import annotations

from sqlalchemy import Column, Index, PrimaryKeyConstraint, Table, Text

from adapters.sql.schema import CodePointText, UtcDateTime, metadata

inbound_events = Table(
    "inbound_events",
    metadata,
    Column("organization_id", Text, nullable=False),
    Column("event_id", CodePointText, nullable=False),
    Column("event_type", Text, nullable=False),
    Column("user_id", CodePointText, nullable=False),
    Column("door", Text, nullable=False),
    Column("occurred_at", UtcDateTime(), nullable=False),
    Column("received_at", UtcDateTime(), nullable=False),
    PrimaryKeyConstraint("organization_id", "event_id"),
    Index(None, "received_at"),  # pruning by age
)
