"""MetricsService.GetExperimentResults, as a mixin the MetricsService servicer is composed of
(each RPC family in its own file). The statistics and the winner rule live in domain.metrics;
docs/experiments.md says what every number means."""

from __future__ import annotations

import grpc
from campaign.v1 import metrics_service_pb2 as msvc

from domain.kernel.errors import ViolationCollector
from domain.metrics.experiment_service import ExperimentService
from server.interceptors.authentication import current_principal
from server.mappers import enums
from server.mappers.common import enum_in
from server.mappers.experiments import experiment_to_proto


class ExperimentsMixin:
    _experiments: ExperimentService

    async def GetExperimentResults(
        self,
        request: msvc.GetExperimentResultsRequest,
        context: grpc.aio.ServicerContext,
    ) -> msvc.GetExperimentResultsResponse:
        v = ViolationCollector()
        metric = enum_in(v, "metric", enums.METRICS, request.metric, required=False)
        v.raise_if_any()
        report = await self._experiments.get_experiment_results(
            current_principal(), request.campaign_id, metric
        )
        return experiment_to_proto(report)
