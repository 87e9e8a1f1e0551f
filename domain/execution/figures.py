"""What operators watch across every campaign: the service's operational figures, read from the
store now and then and published as metrics (docs/metrics-prometheus.md).

Figures are totals over the whole store, never per campaign, so they stay a handful of numbers
however many campaigns there are. Reading them must stay cheap at millions of messages: a
reader answers from counters, small tables and the partial indexes the relays use, never by
scanning the messages.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol


@dataclass(frozen=True, slots=True)
class Backlog:
    """Rows waiting for a relay, and the instant the oldest of them has waited since."""

    rows: int = 0
    oldest: datetime | None = None

    def age(self, now: datetime) -> timedelta:
        """How long the oldest row has waited (zero when none waits, or its instant is ahead)."""
        if self.oldest is None:
            return timedelta(0)
        return max(now - self.oldest, timedelta(0))


@dataclass(frozen=True, slots=True)
class OperationalFigures:
    # (channel, status) -> messages that ever reached the status (the metric ledger's funnel
    # counters, docs/metrics.md): they only grow
    messages: Mapping[tuple[str, str], int] = field(default_factory=dict)
    executions: Mapping[str, int] = field(default_factory=dict)  # status -> runs in it now
    outbox: Backlog = Backlog()  # domain events not yet published
    delivery: Backlog = Backlog()  # messages due and not yet handed over


class OperationalFiguresReader(Protocol):
    async def read(self, now: datetime) -> OperationalFigures:
        """The figures as the store has them now; DependencyUnavailableError on an outage."""
        ...
