"""A stand-in MetricsService until the full MetricsServicer composes ExperimentsMixin: only
GetExperimentResults answers, the other RPCs stay UNIMPLEMENTED. Delete this file once the
MetricsServicer is registered instead."""

from __future__ import annotations

from campaign.v1 import metrics_service_pb2 as msvc
from campaign.v1 import metrics_service_pb2_grpc as msvc_grpc

from domain.metrics.experiment_service import ExperimentService
from server.servicers.experiments import ExperimentsMixin
from server.servicers.unimplemented import with_unimplemented

_Base = with_unimplemented(
    msvc_grpc.MetricsServiceServicer,
    msvc.DESCRIPTOR.services_by_name["MetricsService"],
    {"GetExperimentResults"},
)


class ExperimentsOnlyMetricsServicer(ExperimentsMixin, _Base):  # type: ignore[misc, valid-type]
    def __init__(self, experiments: ExperimentService) -> None:
        self._experiments = experiments
