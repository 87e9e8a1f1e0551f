"""TrackedEvent (campaign.v1) -> InboundEvent, and the TrackEvents report back to the wire."""

from __future__ import annotations

from datetime import datetime

from campaign.v1 import event_pb2, event_service_pb2
from google.protobuf.json_format import MessageToDict

from domain.events.model import Door, InboundEvent
from domain.events.tracking import TrackReport
from server.mappers.common import optional_datetime


def event_from_proto(
    tracked: event_pb2.TrackedEvent, organization_id: str, received_at: datetime
) -> InboundEvent:
    """The organization is the caller's (never the event's); no occurred_at = received now.
    The checks (domain.events.validation) run on the result, so a bad event is reported by
    its index rather than failing the call."""
    properties = MessageToDict(tracked.properties) if tracked.HasField("properties") else {}
    return InboundEvent(
        organization_id=organization_id,
        event_id=tracked.event_id,
        event_type=tracked.event_type,
        occurred_at=optional_datetime(tracked, "occurred_at") or received_at,
        user_id=tracked.user_id,
        properties=properties,
        door=Door.TRACK_EVENTS,
    )


def report_to_proto(report: TrackReport) -> event_service_pb2.TrackEventsResponse:
    return event_service_pb2.TrackEventsResponse(
        accepted_count=report.accepted,
        duplicate_count=report.duplicates,
        rejected=[
            event_service_pb2.RejectedEvent(index=r.index, event_id=r.event_id, reason=r.reason)
            for r in report.rejected
        ],
        rejected_count=len(report.rejected),
    )
