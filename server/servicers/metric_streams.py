"""MetricsService.StreamCampaignMetrics, as a mixin of the MetricsServicer: the request checked
and mapped, then the hub's updates (domain.metrics.streams) mapped as they come.

The updates are pulled inside `aclosing`, so when the client cancels (or vanishes) gRPC cancels
this handler and the hub's stream is closed in the same task: its subscription leaves the
watcher at once and the watcher stops with its last subscriber.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import aclosing

import grpc
from campaign.v1 import metrics_service_pb2 as svc

from domain.metrics.streams import LiveMetrics
from server.interceptors.authentication import current_principal
from server.mappers.metric_streams import stream_request_from_proto, update_to_proto


class MetricStreamsMixin:
    _live: LiveMetrics

    async def StreamCampaignMetrics(
        self,
        request: svc.StreamCampaignMetricsRequest,
        context: grpc.aio.ServicerContext,
    ) -> AsyncIterator[svc.StreamCampaignMetricsResponse]:
        checked = stream_request_from_proto(request)
        async with aclosing(self._live.stream(current_principal(), checked)) as updates:
            async for update in updates:
                yield update_to_proto(update)
