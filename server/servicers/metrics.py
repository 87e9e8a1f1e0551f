"""campaign.v1.MetricsService: GetCampaignMetrics reads the metric ledger (docs/metrics.md).

Built with `with_unimplemented`, so the RPCs not built here answer UNIMPLEMENTED; the others
come as mixins of this class (like CampaignServicer's), each in its own file.
"""

from __future__ import annotations

import grpc
from campaign.v1 import metrics_service_pb2 as msvc
from campaign.v1 import metrics_service_pb2_grpc as msvc_grpc

from domain.kernel.errors import ViolationCollector
from domain.metrics.reading import CampaignMetricsReader
from server.interceptors.authentication import current_principal
from server.mappers.metrics import breakdowns_in, metrics_to_proto
from server.servicers.unimplemented import with_unimplemented

_SERVICE = msvc.DESCRIPTOR.services_by_name["MetricsService"]


class MetricsRpcs:
    """GetCampaignMetrics."""

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


IMPLEMENTED = {"GetCampaignMetrics"}


class MetricsServicer(
    MetricsRpcs,
    with_unimplemented(msvc_grpc.MetricsServiceServicer, _SERVICE, IMPLEMENTED),  # type: ignore[misc]
):
    def __init__(self, reader: CampaignMetricsReader) -> None:
        self._reader = reader
