"""In-process metric ledger: a real implementation of the MetricLedger port, kept simple (a dict
of cells, summed on every read). For tests and the in-memory composition; the database ledger
keeps the counters in the transaction of the change they count."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from domain.metrics.model import Breakdown, BreakdownRow, CampaignMetrics, Cell, MetricTotals

_ORDER = {breakdown: index for index, breakdown in enumerate(Breakdown)}
_KEY_OF = {
    Breakdown.VARIANT: lambda cell: cell.variant_id,
    Breakdown.CHANNEL: lambda cell: cell.channel,
    Breakdown.SEGMENT: lambda cell: cell.segment_id,
}


class MemoryMetricLedger:
    def __init__(self) -> None:
        self._cells: dict[Cell, MetricTotals] = {}
        self._updated_at: dict[tuple[str, str], datetime] = {}

    async def add(self, deltas: Mapping[Cell, MetricTotals], at: datetime) -> None:
        for cell, delta in deltas.items():
            if delta.is_zero:
                continue
            self._cells.setdefault(cell, MetricTotals()).add(delta)
            self._updated_at[(cell.organization_id, cell.campaign_id)] = at

    async def read(
        self,
        organization_id: str,
        campaign_id: str,
        execution_id: str | None,
        breakdowns: Sequence[Breakdown],
    ) -> CampaignMetrics:
        totals = MetricTotals()
        rows: dict[tuple[Breakdown, str], MetricTotals] = {}
        for cell, counts in self._cells.items():
            if cell.organization_id != organization_id or cell.campaign_id != campaign_id:
                continue
            if execution_id is not None and cell.execution_id != execution_id:
                continue
            totals.add(counts)
            for breakdown in breakdowns:
                key = (breakdown, _KEY_OF[breakdown](cell))
                rows.setdefault(key, MetricTotals()).add(counts)
        return CampaignMetrics(
            totals=totals,
            rows=tuple(
                BreakdownRow(breakdown, key, counts)
                for (breakdown, key), counts in sorted(
                    rows.items(), key=lambda item: (_ORDER[item[0][0]], item[0][1])
                )
            ),
            updated_at=self._updated_at.get((organization_id, campaign_id)),
        )
