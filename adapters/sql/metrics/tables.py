"""The metric counters: one row per (cell, shard), holding every MetricTotals counter.

A cell is domain.metrics.model.Cell: the finest grain a campaign's metrics are read at. Each cell
is spread over a few shards (the writer picks one per transaction), so replicas counting one
campaign at once mostly update different rows instead of queueing on one; a read sums them.
The primary key starts with (organization_id, campaign_id), the prefix every read filters on.
"""

from __future__ import annotations

from dataclasses import fields

from sqlalchemy import BigInteger, Column, Double, Integer, PrimaryKeyConstraint, Table, Text

from adapters.sql.schema import UtcDateTime, metadata
from domain.metrics.model import MetricTotals

KEY = (
    "organization_id",
    "campaign_id",
    "execution_id",
    "variant_id",
    "channel",
    "segment_id",
    "shard",
)
COUNTERS = tuple(f.name for f in fields(MetricTotals))
FLOAT_COUNTERS = frozenset({"conversion_value"})

metric_counters = Table(
    "metric_counters",
    metadata,
    *(Column(name, Integer if name == "shard" else Text, nullable=False) for name in KEY),
    *(
        Column(
            name,
            Double if name in FLOAT_COUNTERS else BigInteger,
            nullable=False,
            server_default="0",
        )
        for name in COUNTERS
    ),
    Column("updated_at", UtcDateTime(), nullable=False),
    PrimaryKeyConstraint(*KEY),
)
