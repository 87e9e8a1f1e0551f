"""What a campaign's metrics are: funnel counters kept per (execution, variant, channel, segment)
cell, and the rates derived from them.

Every counter counts messages that ever reached a state (a funnel), not messages that sit in it
now: a clicked message also counts as sent, delivered and opened, because the message keeps the
first instant of every state it reached (domain.execution.feedback). So a counter only grows,
a change of state adds 1 to each state newly reached, and a recount from the message table is
`count(*) where <state>_at is not null` per cell.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, fields
from datetime import datetime


class Breakdown(enum.StrEnum):
    VARIANT = "variant"
    CHANNEL = "channel"
    SEGMENT = "segment"


@dataclass(frozen=True, slots=True)
class Cell:
    """The finest grain the counters are kept at. `segment_id` is the include audience the
    recipient matched (the first one, in the campaign's order); "" when unknown."""

    organization_id: str
    campaign_id: str
    execution_id: str
    variant_id: str
    channel: str
    segment_id: str = ""


@dataclass(slots=True)
class MetricTotals:
    queued: int = 0
    sent: int = 0
    delivered: int = 0
    opened: int = 0
    clicked: int = 0
    converted: int = 0
    bounced: int = 0
    failed: int = 0
    unsubscribed: int = 0
    holdout: int = 0
    conversion_value: float = 0.0
    # Conversions of holdout members (they got no message): the baseline of lift.
    holdout_converted: int = 0
    # Every open and click hit, repeats included (opened and clicked count messages, once).
    opens_total: int = 0
    clicks_total: int = 0

    def add(self, other: MetricTotals) -> None:
        for f in fields(self):
            setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))

    @property
    def is_zero(self) -> bool:
        return all(not getattr(self, f.name) for f in fields(self))


def _ratio(numerator: float, denominator: float) -> float:
    return numerator / denominator if denominator else 0.0


@dataclass(frozen=True, slots=True)
class MetricRates:
    delivery_rate: float = 0.0
    open_rate: float = 0.0
    click_rate: float = 0.0
    conversion_rate: float = 0.0
    bounce_rate: float = 0.0
    unsubscribe_rate: float = 0.0

    @classmethod
    def of(cls, t: MetricTotals) -> MetricRates:
        return cls(
            delivery_rate=_ratio(t.delivered, t.sent),
            open_rate=_ratio(t.opened, t.delivered),
            click_rate=_ratio(t.clicked, t.delivered),
            conversion_rate=_ratio(t.converted, t.delivered),
            bounce_rate=_ratio(t.bounced, t.sent),
            unsubscribe_rate=_ratio(t.unsubscribed, t.delivered),
        )


@dataclass(frozen=True, slots=True)
class BreakdownRow:
    breakdown: Breakdown
    key: str
    totals: MetricTotals


@dataclass(frozen=True, slots=True)
class CampaignMetrics:
    """One read of a campaign's (or one execution's) counters."""

    totals: MetricTotals
    rows: tuple[BreakdownRow, ...] = ()
    updated_at: datetime | None = None
