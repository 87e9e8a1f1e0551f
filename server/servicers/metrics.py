"""campaign.v1.MetricsService (streams branch only: a stand-in the lead replaces with the
metrics branch's servicer, which composes MetricStreamsMixin). Only StreamCampaignMetrics is
implemented here; the other RPCs answer UNIMPLEMENTED."""

from __future__ import annotations

from campaign.v1 import metrics_service_pb2 as msvc
from campaign.v1 import metrics_service_pb2_grpc as msvc_grpc

from domain.metrics.streams import LiveMetrics
from server.servicers.metric_streams import MetricStreamsMixin
from server.servicers.unimplemented import with_unimplemented

_Base = with_unimplemented(
    msvc_grpc.MetricsServiceServicer,
    msvc.DESCRIPTOR.services_by_name["MetricsService"],
    {"StreamCampaignMetrics"},
)


class MetricsServicer(MetricStreamsMixin, _Base):  # type: ignore[misc, valid-type]
    def __init__(self, live: LiveMetrics) -> None:
        self._live = live
