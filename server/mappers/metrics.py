"""Proto <-> domain for MetricsService: the breakdowns asked for, and the counters and rates
answered (domain.metrics.model)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import fields

from campaign.v1 import metrics_pb2 as mpb
from campaign.v1 import metrics_service_pb2 as msvc

from domain.kernel.errors import ViolationCollector
from domain.metrics.model import Breakdown, CampaignMetrics, MetricRates, MetricTotals
from server.mappers.common import enum_in, invert, set_timestamp

BREAKDOWNS: dict[int, Breakdown] = {
    mpb.BREAKDOWN_VARIANT: Breakdown.VARIANT,
    mpb.BREAKDOWN_CHANNEL: Breakdown.CHANNEL,
    mpb.BREAKDOWN_SEGMENT: Breakdown.SEGMENT,
}
BREAKDOWNS_OUT = invert(BREAKDOWNS)
_TOTALS = tuple(f.name for f in fields(MetricTotals))
_RATES = tuple(f.name for f in fields(MetricRates))


def breakdowns_in(v: ViolationCollector, path: str, numbers: Sequence[int]) -> list[Breakdown]:
    """Each requested breakdown once, in the order first asked; UNSPECIFIED and unknown numbers
    are field violations (the list's length is capped by the request limits)."""
    out: list[Breakdown] = []
    for index, number in enumerate(numbers):
        found = enum_in(v, f"{path}[{index}]", BREAKDOWNS, number)
        if found is not None and found not in out:
            out.append(found)
    return out


def totals_to_proto(t: MetricTotals) -> mpb.MetricTotals:
    return mpb.MetricTotals(**{name: getattr(t, name) for name in _TOTALS})


def rates_to_proto(t: MetricTotals) -> mpb.MetricRates:
    rates = MetricRates.of(t)
    return mpb.MetricRates(**{name: getattr(rates, name) for name in _RATES})


def metrics_to_proto(m: CampaignMetrics) -> msvc.GetCampaignMetricsResponse:
    out = msvc.GetCampaignMetricsResponse(
        totals=totals_to_proto(m.totals),
        rates=rates_to_proto(m.totals),
        rows=[
            mpb.BreakdownRow(
                breakdown=BREAKDOWNS_OUT[row.breakdown],
                key=row.key,
                totals=totals_to_proto(row.totals),
                rates=rates_to_proto(row.totals),
            )
            for row in m.rows
        ],
    )
    set_timestamp(out.updated_at, m.updated_at)
    return out
