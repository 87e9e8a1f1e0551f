"""campaign.v1.EventService: the gRPC door of the inbound events (the NATS consumer is the
other); both feed the same intake, so an event counts once whichever way it came."""

from __future__ import annotations

import grpc
from campaign.v1 import event_service_pb2 as esvc
from campaign.v1 import event_service_pb2_grpc as esvc_grpc

from domain.events.tracking import EventTracking
from server.interceptors.authentication import current_principal
from server.mappers.events import event_from_proto, report_to_proto


class EventServicer(esvc_grpc.EventServiceServicer):
    def __init__(self, tracking: EventTracking) -> None:
        self._tracking = tracking

    async def TrackEvents(
        self,
        request: esvc.TrackEventsRequest,
        context: grpc.aio.ServicerContext,
    ) -> esvc.TrackEventsResponse:
        principal = current_principal()
        principal.require_write()
        received_at = self._tracking.clock.now()
        events = [
            event_from_proto(e, principal.organization_id, received_at) for e in request.events
        ]
        return report_to_proto(await self._tracking.track(events))
