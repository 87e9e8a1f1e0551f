"""MetricLedger on SQL: deltas go in as one UPSERT per transaction, a read sums counter rows.

`add` adds to a row per (cell, shard) with `INSERT ... ON CONFLICT DO UPDATE SET x = x + excluded.x`
(SQLite and Postgres alike), inside the caller's transaction: the counters commit with the change
they count, or not at all. The shard is drawn once per ledger, that is per transaction, so two
replicas counting one campaign at once meet on the same row only one time in SHARDS, and a
transaction's own cells always go in key order: two transactions never wait for each other's
counter rows in opposite orders (no deadlock).

`read` groups the campaign's rows (or one execution's) by (variant, channel, segment) in one
query through the primary key's (organization_id, campaign_id) prefix: its cost grows with the
number of cells (variants x channels x segments x executions x shards), never with the number of
messages.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from adapters.sql.audience.stores import dialect_insert
from adapters.sql.metrics.tables import COUNTERS, FLOAT_COUNTERS, metric_counters
from domain.metrics.model import Breakdown, BreakdownRow, CampaignMetrics, Cell, MetricTotals

SHARDS = 8
_UPSERTS: dict[str, Any] = {}  # by dialect: built once, not per transaction (its cache key too)


def _upsert(connection: AsyncConnection) -> Any:
    """The counters' UPSERT on the connection's dialect."""
    dialect = connection.dialect.name
    statement = _UPSERTS.get(dialect)
    if statement is None:
        statement = dialect_insert(connection, metric_counters)
        table, excluded = metric_counters.c, statement.excluded
        statement = _UPSERTS[dialect] = statement.on_conflict_do_update(
            index_elements=[table[k] for k in ("organization_id", "campaign_id", "execution_id")]
            + [table[k] for k in (*_GROUPED, "shard")],
            set_={
                **{name: table[name] + excluded[name] for name in COUNTERS},
                # the latest change: writers' clocks may disagree, the counter keeps the max
                "updated_at": func.max(table.updated_at, excluded.updated_at)
                if dialect == "sqlite"
                else func.greatest(table.updated_at, excluded.updated_at),
            },
        )
    return statement


_GROUPED = ("variant_id", "channel", "segment_id")
_ROW_KEY = {
    Breakdown.VARIANT: 0,
    Breakdown.CHANNEL: 1,
    Breakdown.SEGMENT: 2,
}


class SqlMetricLedger:
    def __init__(self, connection: AsyncConnection, *, shard: int | None = None) -> None:
        self._c = connection
        self._shard = random.randrange(SHARDS) if shard is None else shard

    async def add(self, deltas: Mapping[Cell, MetricTotals], at: datetime) -> None:
        rows = [
            _row(cell, totals, self._shard, at)
            for cell, totals in sorted(deltas.items(), key=lambda item: _sort_key(item[0]))
            if not totals.is_zero
        ]
        if not rows:
            return
        await self._c.execute(_upsert(self._c), rows)

    async def read(
        self,
        organization_id: str,
        campaign_id: str,
        execution_id: str | None,
        breakdowns: Sequence[Breakdown],
    ) -> CampaignMetrics:
        table = metric_counters.c
        where = [table.organization_id == organization_id, table.campaign_id == campaign_id]
        if execution_id is not None:
            where.append(table.execution_id == execution_id)
        statement = (
            select(
                *(table[k] for k in _GROUPED),
                *(func.sum(table[name]) for name in COUNTERS),
                func.max(table.updated_at),
            )
            .where(*where)
            .group_by(*(table[k] for k in _GROUPED))
        )
        totals = MetricTotals()
        by_key: dict[tuple[Breakdown, str], MetricTotals] = {}
        updated_at: datetime | None = None
        for row in await self._c.execute(statement):
            cell_totals = _totals(row[len(_GROUPED) : len(_GROUPED) + len(COUNTERS)])
            totals.add(cell_totals)
            last = row[-1]
            if last is not None and (updated_at is None or last > updated_at):
                updated_at = last
            for breakdown in breakdowns:
                key = row[_ROW_KEY[breakdown]]
                by_key.setdefault((breakdown, key), MetricTotals()).add(cell_totals)
        rows = tuple(
            BreakdownRow(breakdown, key, by_key[(breakdown, key)])
            for breakdown in breakdowns
            for key in sorted(k for b, k in by_key if b is breakdown)
        )
        return CampaignMetrics(totals=totals, rows=rows, updated_at=updated_at)


def _sort_key(cell: Cell) -> tuple[str, ...]:
    return (
        cell.organization_id,
        cell.campaign_id,
        cell.execution_id,
        cell.variant_id,
        cell.channel,
        cell.segment_id,
    )


def _row(cell: Cell, totals: MetricTotals, shard: int, at: datetime) -> dict[str, object]:
    return {
        "organization_id": cell.organization_id,
        "campaign_id": cell.campaign_id,
        "execution_id": cell.execution_id,
        "variant_id": cell.variant_id,
        "channel": cell.channel,
        "segment_id": cell.segment_id,
        "shard": shard,
        **{name: getattr(totals, name) for name in COUNTERS},
        "updated_at": at,
    }


def _totals(values: Sequence[Any]) -> MetricTotals:
    totals = MetricTotals()
    for name, value in zip(COUNTERS, values, strict=True):
        setattr(totals, name, float(value or 0) if name in FLOAT_COUNTERS else int(value or 0))
    return totals


class SqlStoreMetricLedger:
    """The MetricLedger outside a unit of work (live streams and experiments read it): each call
    on a connection of its own, reads on the store's reader (autocommit on Postgres)."""

    def __init__(self, writer: AsyncEngine, reader: AsyncEngine) -> None:
        self._writer = writer
        self._reader = reader

    async def add(self, deltas: Mapping[Cell, MetricTotals], at: datetime) -> None:
        async with self._writer.connect() as connection:
            await SqlMetricLedger(connection).add(deltas, at)
            await connection.commit()

    async def read(
        self,
        organization_id: str,
        campaign_id: str,
        execution_id: str | None,
        breakdowns: Sequence[Breakdown],
    ) -> CampaignMetrics:
        async with self._reader.connect() as connection:
            return await SqlMetricLedger(connection, shard=0).read(
                organization_id, campaign_id, execution_id, breakdowns
            )
