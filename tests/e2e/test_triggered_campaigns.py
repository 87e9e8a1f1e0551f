"""Triggered campaigns end to end on the real server (SQLite and Postgres): create and activate
a triggered campaign, send events through EventService.TrackEvents, watch the message appear and
its delivery status arrive (the embedded sandbox delivers at once), and read through
ListTriggerEvaluations (also with grpcurl) why a user got nothing (docs/triggers.md).
"""

from __future__ import annotations

import uuid
from typing import Any

import grpc
import pytest
from campaign.v1 import campaign_pb2 as pb
from campaign.v1 import campaign_service_pb2 as svc
from campaign.v1 import event_pb2, event_service_pb2, event_service_pb2_grpc
from campaign.v1 import execution_pb2 as xpb
from google.protobuf import struct_pb2

from tests.e2e.engine_helpers import AudienceApi, contact, eventually
from tests.e2e.helpers import (
    RPC_TIMEOUT,
    CampaignApi,
    Grpcurl,
    bearer,
    email,
    mint_token,
    triggered_request,
)

pytestmark = pytest.mark.e2e

HANDED_OVER = (xpb.MESSAGE_STATUS_SENT, xpb.MESSAGE_STATUS_DELIVERED)


def track(channel: grpc.Channel, org: str, *events: event_pb2.TrackedEvent) -> Any:
    return event_service_pb2_grpc.EventServiceStub(channel).TrackEvents(
        event_service_pb2.TrackEventsRequest(events=list(events)),
        metadata=bearer(mint_token(org)),
        timeout=RPC_TIMEOUT,
    )


def order(user_id: str, total: float) -> event_pb2.TrackedEvent:
    properties = struct_pb2.Struct()
    properties.update({"total": total, "cart": {"currency": "EUR"}})
    return event_pb2.TrackedEvent(
        event_id=f"evt-{uuid.uuid4().hex[:10]}",
        event_type="order.completed",
        user_id=user_id,
        properties=properties,
    )


def big_orders() -> pb.Trigger:
    at_least = pb.Condition(field="total", operator=pb.CONDITION_OPERATOR_GREATER_THAN_OR_EQUAL)
    at_least.value.number_value = 50
    euros = pb.Condition(field="cart.currency", operator=pb.CONDITION_OPERATOR_EQUALS)
    euros.value.string_value = "EUR"
    return pb.Trigger(event_type="order.completed", conditions=[at_least, euros])


def test_a_tracked_event_fires_and_a_skipped_user_is_explained(
    channel: grpc.Channel, api: CampaignApi, grpcurl: Grpcurl, org: str
) -> None:
    audience = AudienceApi(channel, mint_token(org))
    audience.upsert(
        contact("buyer", attributes={"active": True, "first_name": "Kari"}),
        contact("lapsed", attributes={"active": False}),
        contact("small", attributes={"active": True}),
    )
    created = api.create(
        triggered_request(
            "Order thanks",
            channels=[email("Thanks {{ first_name }}")],
            triggers=[big_orders()],
            throttle=pb.Throttle(quiet_hours=pb.QuietHours(enabled=False)),
        )
    )
    campaign_id = created.campaign_id
    api.call("ActivateCampaign", svc.ActivateCampaignRequest(campaign_id=campaign_id))

    fired, lapsed, small = order("buyer", 80), order("lapsed", 80), order("small", 20)
    first = track(channel, org, fired, lapsed, small)
    again = track(channel, org, fired)  # the same event again: no second message

    assert (first.accepted_count, again.duplicate_count) == (3, 1)

    def handed_over() -> list[xpb.Message]:
        page = api.call("ListMessages", svc.ListMessagesRequest(campaign_id=campaign_id))
        return [m for m in page.messages if m.status in HANDED_OVER]

    [message] = eventually(handed_over, within=30, what="the triggered message handed over")
    assert (message.user_id, message.execution_id) == ("buyer", "")

    def delivered() -> list[xpb.Message]:  # the sandbox's delivery report arrives
        page = api.call("ListMessages", svc.ListMessagesRequest(campaign_id=campaign_id))
        return [m for m in page.messages if m.status == xpb.MESSAGE_STATUS_DELIVERED]

    [done] = eventually(delivered, within=30, what="the triggered message delivered")
    assert done.message_id == message.message_id
    assert done.HasField("delivered_at")

    by_campaign = api.call(
        "ListTriggerEvaluations", svc.ListTriggerEvaluationsRequest(campaign_id=campaign_id)
    )
    outcomes = {e.user_id: (e.outcome, e.reason) for e in by_campaign.evaluations}
    assert outcomes["buyer"][0] == svc.TRIGGER_OUTCOME_FIRED
    assert outcomes["lapsed"][0] == svc.TRIGGER_OUTCOME_NOT_IN_AUDIENCE
    assert outcomes["small"] == (
        svc.TRIGGER_OUTCOME_CONDITIONS_NOT_MET,
        "conditions[0]: total greater_than_or_equal 50",
    )
    assert len(by_campaign.evaluations) == 3  # the duplicate was not evaluated again

    shown = grpcurl.invoke(
        "campaign.v1.CampaignService/ListTriggerEvaluations",
        {"campaign_id": campaign_id, "user_id": "small"},
        token=mint_token(org),
    )
    [why] = shown["evaluations"]
    assert why["outcome"] == "TRIGGER_OUTCOME_CONDITIONS_NOT_MET"
    assert why["reason"] == "conditions[0]: total greater_than_or_equal 50"
    assert why["event_id"] == small.event_id


def test_one_event_fires_two_campaigns_each_once(
    channel: grpc.Channel, api: CampaignApi, org: str
) -> None:
    AudienceApi(channel, mint_token(org)).upsert(contact("buyer", attributes={"active": True}))
    quiet = pb.Throttle(quiet_hours=pb.QuietHours(enabled=False))
    ids = []
    for name in ("Thanks", "Cross-sell"):
        created = api.create(triggered_request(name, channels=[email()], throttle=quiet))
        api.call("ActivateCampaign", svc.ActivateCampaignRequest(campaign_id=created.campaign_id))
        ids.append(created.campaign_id)

    track(channel, org, order("buyer", 10))

    for campaign_id in ids:
        page = eventually(
            lambda c=campaign_id: (
                api.call("ListMessages", svc.ListMessagesRequest(campaign_id=c)).messages
            ),
            within=30,
            what="a message of each campaign",
        )
        assert [m.user_id for m in page] == ["buyer"]
