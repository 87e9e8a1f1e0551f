"""campaign.v1.MetricsService: one servicer composed of a mixin per RPC family (the counters
read from the metric ledger, live streams, experiment results); an RPC no mixin implements
answers UNIMPLEMENTED."""

from __future__ import annotations

from campaign.v1 import metrics_service_pb2 as msvc
from campaign.v1 import metrics_service_pb2_grpc as msvc_grpc

from domain.metrics.experiment_service import ExperimentService
from domain.metrics.reading import CampaignMetricsReader
from domain.metrics.streams import LiveMetrics
from server.servicers.campaign_metrics import CampaignMetricsMixin
from server.servicers.experiments import ExperimentsMixin
from server.servicers.metric_streams import MetricStreamsMixin
from server.servicers.unimplemented import with_unimplemented

_Base = with_unimplemented(
    msvc_grpc.MetricsServiceServicer,
    msvc.DESCRIPTOR.services_by_name["MetricsService"],
    {"GetCampaignMetrics", "StreamCampaignMetrics", "GetExperimentResults"},
)


class MetricsServicer(CampaignMetricsMixin, MetricStreamsMixin, ExperimentsMixin, _Base):  # type: ignore[misc, valid-type]
    def __init__(
        self, reader: CampaignMetricsReader, live: LiveMetrics, experiments: ExperimentService
    ) -> None:
        self._reader = reader
        self._live = live
        self._experiments = experiments
