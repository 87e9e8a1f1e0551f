"""Ports of the metrics context."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Protocol

from domain.metrics.model import Breakdown, CampaignMetrics, Cell, MetricTotals


class MetricLedger(Protocol):
    """The counters, kept by the same transaction as the change they count (so they equal the
    message table exactly, whatever replicas write concurrently)."""

    async def add(self, deltas: Mapping[Cell, MetricTotals], at: datetime) -> None:
        """Add each cell's deltas (zero cells are skipped)."""

    async def read(
        self,
        organization_id: str,
        campaign_id: str,
        execution_id: str | None,
        breakdowns: Sequence[Breakdown],
    ) -> CampaignMetrics:
        """The sum of the campaign's cells (or one execution's): a read of the counter rows
        only, never of the messages, so it costs the same at 10 and at 10 million messages."""


class MetricChanges(Protocol):
    """Tells every replica that a campaign's counters changed (best effort, coalesced); live
    streams re-read the ledger when told, and also on a slow timer, so a lost signal only
    delays an update."""

    def changed(self, organization_id: str, campaign_id: str) -> None: ...
