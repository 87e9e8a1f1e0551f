"""MetricsService.GetCampaignMetrics: a campaign's (or one execution's) counters, rates and
breakdowns, read from the metric ledger (docs/metrics.md). A mixin of MetricsServicer."""

from __future__ import annotations

import grpc
from campaign.v1 import metrics_service_pb2 as msvc

from domain.kernel.errors import ViolationCollector
from domain.metrics.reading import CampaignMetricsReader
from server.interceptors.authentication import current_principal
from server.mappers.metrics import breakdowns_in, metrics_to_proto


class CampaignMetricsMixin:
    _reader: CampaignMetricsReader

    async def GetCampaignMetrics(
        self,
        request: msvc.GetCampaignMetricsRequest,
        context: grpc.aio.ServicerContext,
    ) -> msvc.GetCampaignMetricsResponse:
        principal = current_principal()
        v = ViolationCollector()
        if not request.campaign_id:
            v.add("campaign_id", "is required")
        breakdowns = breakdowns_in(v, "breakdowns", request.breakdowns)
        v.raise_if_any()
        found = await self._reader.read(
            principal, request.campaign_id, request.execution_id, breakdowns
        )
        return metrics_to_proto(found)
