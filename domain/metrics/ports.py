"""Ports of the metrics context."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
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


ChangeListener = Callable[[str, str], None]


class MetricChangeFeed(Protocol):
    """The receiving side of MetricChanges: every replica's change signals, its own included,
    as (organization_id, campaign_id). Best effort like the signals themselves: a listener must
    not rely on seeing every one (live streams also re-read on a slow timer)."""

    def listen(self, listener: ChangeListener) -> None:
        """Call `listener` on the event loop for every signal from now on. Never blocks and
        never raises: a transport that is down keeps trying to listen in the background."""
