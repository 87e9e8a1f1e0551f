"""The metric ledger held in process: a dict of cells, for tests and for reading the statistics
without a database. A real implementation of the MetricLedger port (domain.metrics.ports): the
SQL ledger must answer the same reads for the same additions."""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from datetime import datetime

from domain.metrics.model import Breakdown, BreakdownRow, CampaignMetrics, Cell, MetricTotals


def _key(cell: Cell, breakdown: Breakdown) -> str:
    if breakdown is Breakdown.VARIANT:
        return cell.variant_id
    if breakdown is Breakdown.CHANNEL:
        return cell.channel
    return cell.segment_id


class MemoryMetricLedger:
    def __init__(self) -> None:
        self._cells: dict[Cell, MetricTotals] = {}
        self._updated: dict[tuple[str, str], datetime] = {}

    async def add(self, deltas: Mapping[Cell, MetricTotals], at: datetime) -> None:
        for cell, delta in deltas.items():
            if delta.is_zero:
                continue
            self._cells.setdefault(cell, MetricTotals()).add(delta)
            key = (cell.organization_id, cell.campaign_id)
            self._updated[key] = max(self._updated.get(key, at), at)  # the latest change

    async def read(
        self,
        organization_id: str,
        campaign_id: str,
        execution_id: str | None,
        breakdowns: Sequence[Breakdown],
    ) -> CampaignMetrics:
        cells = [
            (cell, totals)
            for cell, totals in self._cells.items()
            if cell.organization_id == organization_id
            and cell.campaign_id == campaign_id
            and (execution_id is None or cell.execution_id == execution_id)
        ]
        overall = MetricTotals()
        for _, totals in cells:
            overall.add(totals)
        rows: list[BreakdownRow] = []
        for breakdown in dict.fromkeys(breakdowns):
            grouped: dict[str, MetricTotals] = {}
            for cell, totals in cells:
                grouped.setdefault(_key(cell, breakdown), MetricTotals()).add(totals)
            rows.extend(
                BreakdownRow(breakdown, key, copy.copy(totals))
                for key, totals in sorted(grouped.items())
            )
        return CampaignMetrics(
            totals=overall,
            rows=tuple(rows),
            updated_at=self._updated.get((organization_id, campaign_id)),
        )
