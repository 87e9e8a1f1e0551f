"""GetCampaignMetrics' request and answer, proto <-> domain (the totals, rates and rows mapping
is the live streams', server/mappers/metric_streams.py)."""

from __future__ import annotations

from collections.abc import Sequence

from campaign.v1 import metrics_service_pb2 as msvc

from domain.kernel.errors import ViolationCollector
from domain.metrics.model import Breakdown, CampaignMetrics, MetricRates
from server.mappers.common import enum_in, set_timestamp
from server.mappers.metric_streams import BREAKDOWNS, rates_to_proto, row_to_proto, totals_to_proto


def breakdowns_in(v: ViolationCollector, path: str, numbers: Sequence[int]) -> list[Breakdown]:
    """Each requested breakdown once, in the order first asked; UNSPECIFIED and unknown numbers
    are field violations (the list's length is capped by the request limits)."""
    out: list[Breakdown] = []
    for index, number in enumerate(numbers):
        found = enum_in(v, f"{path}[{index}]", BREAKDOWNS, number)
        if found is not None and found not in out:
            out.append(found)
    return out


def metrics_to_proto(m: CampaignMetrics) -> msvc.GetCampaignMetricsResponse:
    out = msvc.GetCampaignMetricsResponse(
        totals=totals_to_proto(m.totals),
        rates=rates_to_proto(MetricRates.of(m.totals)),
        rows=[row_to_proto(row) for row in m.rows],
    )
    set_timestamp(out.updated_at, m.updated_at)
    return out
