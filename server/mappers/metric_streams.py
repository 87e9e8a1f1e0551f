"""StreamCampaignMetrics' request and updates, proto <-> domain (the totals, rates and rows
mapping is the same one GetCampaignMetrics needs; kept small so one of the two survives)."""

from __future__ import annotations

from campaign.v1 import metrics_pb2 as pb
from campaign.v1 import metrics_service_pb2 as svc

from domain.metrics.model import Breakdown, BreakdownRow, MetricRates, MetricTotals
from domain.metrics.stream_request import StreamRequest, stream_request
from domain.metrics.streams import LiveUpdate
from server.mappers import enums
from server.mappers.common import invert, set_timestamp

BREAKDOWNS: dict[int, Breakdown] = {
    pb.BREAKDOWN_VARIANT: Breakdown.VARIANT,
    pb.BREAKDOWN_CHANNEL: Breakdown.CHANNEL,
    pb.BREAKDOWN_SEGMENT: Breakdown.SEGMENT,
}
_BREAKDOWNS_OUT = invert(BREAKDOWNS)
_STATUSES_OUT = invert(enums.STATUSES)
# The proto's MetricTotals fields, each the domain field of the same name.
_TOTALS = tuple(field.name for field in pb.MetricTotals.DESCRIPTOR.fields)
_RATES = tuple(field.name for field in pb.MetricRates.DESCRIPTOR.fields)


def stream_request_from_proto(request: svc.StreamCampaignMetricsRequest) -> StreamRequest:
    return stream_request(
        request.campaign_id,
        request.min_interval.ToTimedelta() if request.HasField("min_interval") else None,
        [BREAKDOWNS.get(number) for number in request.breakdowns],
    )


def totals_to_proto(totals: MetricTotals) -> pb.MetricTotals:
    return pb.MetricTotals(**{name: getattr(totals, name) for name in _TOTALS})


def rates_to_proto(rates: MetricRates) -> pb.MetricRates:
    return pb.MetricRates(**{name: getattr(rates, name) for name in _RATES})


def row_to_proto(row: BreakdownRow) -> pb.BreakdownRow:
    return pb.BreakdownRow(
        breakdown=_BREAKDOWNS_OUT[row.breakdown],
        key=row.key,
        totals=totals_to_proto(row.totals),
        rates=rates_to_proto(MetricRates.of(row.totals)),
    )


def update_to_proto(update: LiveUpdate) -> svc.StreamCampaignMetricsResponse:
    metrics = update.metrics
    out = svc.StreamCampaignMetricsResponse(
        totals=totals_to_proto(metrics.totals),
        rates=rates_to_proto(MetricRates.of(metrics.totals)),
        rows=[row_to_proto(row) for row in metrics.rows],
        snapshot=update.snapshot,
        final=update.final,
        campaign_status=_STATUSES_OUT[update.status],
    )
    set_timestamp(out.updated_at, metrics.updated_at)
    return out
