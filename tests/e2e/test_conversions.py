"""Conversions against the real server (docs/conversions.md): a campaign with a conversion goal
sends now; an `order.completed` event of a recipient, through EventService.TrackEvents, moves
the message it was sent to CONVERTED with the event's instant as converted_at (GetMessage); the
same event again changes nothing. Runs on SQLite and on Postgres."""

from __future__ import annotations

from datetime import UTC, datetime

import grpc
import pytest
from campaign.v1 import campaign_pb2 as pb
from campaign.v1 import campaign_service_pb2 as svc
from campaign.v1 import event_pb2
from campaign.v1 import execution_pb2 as xpb
from google.protobuf import struct_pb2

from tests.e2e.engine_helpers import AudienceApi, contact, eventually
from tests.e2e.helpers import CampaignApi, mint_token, timestamp
from tests.e2e.test_send_now import RUN_TIMEOUT, ab_request, send_now
from tests.e2e.test_track_events import Events, summary, unique
from tests.e2e.test_transactional_suppressions import get

pytestmark = pytest.mark.e2e

USERS = ("u01", "u02", "u03")


def order(user_id: str, event_id: str, at: datetime, value: float) -> event_pb2.TrackedEvent:
    properties = struct_pb2.Struct()
    properties.update({"value": value})
    return event_pb2.TrackedEvent(
        event_id=event_id,
        event_type="order.completed",
        user_id=user_id,
        properties=properties,
        occurred_at=timestamp(at),
    )


def test_an_order_converts_the_message_its_buyer_was_sent(
    channel: grpc.Channel, org: str, api: CampaignApi
) -> None:
    audience = AudienceApi(channel, mint_token(org))
    audience.upsert(
        *(contact(u, timezone="UTC", attributes={"country": "US", "first_name": u}) for u in USERS)
    )
    request = ab_request("Converts")
    request.conversion.CopyFrom(
        pb.Conversion(
            event_type="order.completed",
            attribution_window_days=3,
            attribution_model=pb.ATTRIBUTION_MODEL_LINEAR,
        )
    )
    campaign = api.create(request)
    assert campaign.conversion.attribution_model == pb.ATTRIBUTION_MODEL_LINEAR
    send_now(api, campaign.campaign_id)

    def delivered() -> list[xpb.Message] | None:
        listing = svc.ListMessagesRequest(campaign_id=campaign.campaign_id, page_size=100)
        found = api.call("ListMessages", listing).messages
        done = len(found) == len(USERS) and all(
            m.status == xpb.MESSAGE_STATUS_DELIVERED for m in found
        )
        return list(found) if done else None

    messages = eventually(delivered, within=RUN_TIMEOUT, what="the run's deliveries")
    buyer = messages[0]
    at = datetime.now(UTC)  # after every delivery: inside the window of each message
    events = Events(channel, org)
    event_id = unique("ord")

    first = events.track(order(buyer.user_id, event_id, at, 42.5))
    again = events.track(order(buyer.user_id, event_id, at, 42.5))

    assert (summary(first), summary(again)) == ((1, 0, 0), (0, 1, 0))
    converted = get(api, campaign.campaign_id, buyer.message_id)
    assert converted.status == xpb.MESSAGE_STATUS_CONVERTED
    assert converted.converted_at.ToDatetime(UTC) == at
    others = [get(api, campaign.campaign_id, m.message_id) for m in messages[1:]]
    assert {m.status for m in others} == {xpb.MESSAGE_STATUS_DELIVERED}
