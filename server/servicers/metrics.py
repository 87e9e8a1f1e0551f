"""campaign.v1.MetricsService: one servicer composed of a mixin per RPC family (live streams,
experiment results); an RPC no mixin implements answers UNIMPLEMENTED."""

from __future__ import annotations

from campaign.v1 import metrics_service_pb2 as msvc
from campaign.v1 import metrics_service_pb2_grpc as msvc_grpc

from domain.metrics.experiment_service import ExperimentService
from domain.metrics.streams import LiveMetrics
from server.servicers.experiments import ExperimentsMixin
from server.servicers.metric_streams import MetricStreamsMixin
from server.servicers.unimplemented import with_unimplemented

_Base = with_unimplemented(
    msvc_grpc.MetricsServiceServicer,
    msvc.DESCRIPTOR.services_by_name["MetricsService"],
    {"StreamCampaignMetrics", "GetExperimentResults"},
)


class MetricsServicer(MetricStreamsMixin, ExperimentsMixin, _Base):  # type: ignore[misc, valid-type]
    def __init__(self, live: LiveMetrics, experiments: ExperimentService) -> None:
        self._live = live
        self._experiments = experiments
