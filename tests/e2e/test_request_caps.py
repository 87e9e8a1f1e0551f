"""Issue #10 items 3, 4 and 17 against the real server on both backends: oversized requests are
INVALID_ARGUMENT before any work (health keeps answering meanwhile), reports stay bounded,
echoed values are truncated, and the spec's validation gaps are closed.

Requests are built in memory and rejected before work, so each test is fast."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import grpc
import pytest
from campaign.v1 import audience_pb2 as apb
from campaign.v1 import audience_service_pb2 as asvc
from campaign.v1 import campaign_pb2 as pb
from campaign.v1 import campaign_service_pb2 as svc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from tests.e2e.engine_helpers import AudienceApi, contact
from tests.e2e.helpers import (
    RPC_TIMEOUT,
    CampaignApi,
    RpcFailure,
    mint_token,
    scheduled_request,
    triggered_request,
)

pytestmark = pytest.mark.e2e

INVALID = grpc.StatusCode.INVALID_ARGUMENT


@pytest.fixture
def audience(channel: grpc.Channel, org: str) -> AudienceApi:
    return AudienceApi(channel, mint_token(org))


def conditions(n: int) -> list[pb.Condition]:
    value = pb.Condition(
        field="plan", operator=pb.CONDITION_OPERATOR_EQUALS, value={"string_value": "pro"}
    )
    return [value] * n


def query_audience(n: int) -> pb.Audience:
    return pb.Audience(
        segment_type=pb.SEGMENT_TYPE_INCLUDE, query=pb.SegmentQuery(conditions=conditions(n))
    )


def rejected_while_healthy(channel: grpc.Channel, call: Callable[..., Any]) -> RpcFailure:
    """Start the bad call, check health answers within 1 s while it is in flight, then return
    how the call failed."""
    future = call()
    health = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=1)
    assert health.status == health_pb2.HealthCheckResponse.SERVING
    with pytest.raises(grpc.RpcError) as caught:
        future.result()
    return RpcFailure.of(caught.value)


# --- item 3: unbounded filters and conditions ---------------------------------------------------


def test_list_campaigns_with_300_tags_is_rejected_before_any_query(
    channel: grpc.Channel, api_as: Callable[..., CampaignApi], org: str
):
    user = api_as(org, "user")
    request = svc.ListCampaignsRequest(tags=[f"tag-{i}" for i in range(300)])

    failure = rejected_while_healthy(
        channel,
        lambda: user.stub.ListCampaigns.future(
            request, metadata=user.metadata, timeout=RPC_TIMEOUT
        ),
    )

    assert failure.code == INVALID
    assert failure.fields == ["tags"]
    assert "at most 20" in failure.field_violations[0].description


def test_estimate_with_one_audience_of_20000_conditions_is_rejected(
    channel: grpc.Channel, audience: AudienceApi
):
    request = asvc.EstimateAudienceRequest(audiences=[query_audience(20_000)])

    failure = rejected_while_healthy(
        channel,
        lambda: audience.stub.EstimateAudience.future(
            request, metadata=audience.metadata, timeout=RPC_TIMEOUT
        ),
    )

    assert failure.code == INVALID
    assert failure.fields == ["audiences[0].query.conditions"]


def test_estimate_with_11_audiences_is_rejected(audience: AudienceApi):
    failure = audience.fails(
        "EstimateAudience",
        asvc.EstimateAudienceRequest(audiences=[query_audience(1) for _ in range(11)]),
    )

    assert failure.code == INVALID
    assert failure.fields == ["audiences"]


def test_create_segment_with_20000_conditions_is_rejected_and_not_saved(audience: AudienceApi):
    segment = apb.Segment(segment_id="huge", conditions=conditions(20_000))

    failure = audience.fails("CreateSegment", asvc.CreateSegmentRequest(segment=segment))

    assert failure.code == INVALID
    assert failure.fields == ["segment.conditions"]
    missing = audience.fails("GetSegment", asvc.GetSegmentRequest(segment_id="huge"))
    assert missing.code == grpc.StatusCode.NOT_FOUND


def test_create_campaign_with_5000_triggers_or_20000_conditions_is_rejected(api: CampaignApi):
    many_triggers = triggered_request(
        triggers=[pb.Trigger(event_type=f"e{i}") for i in range(5_000)]
    )
    many_conditions = triggered_request(
        triggers=[pb.Trigger(event_type="order.completed", conditions=conditions(20_000))]
    )

    assert api.fails("CreateCampaign", many_triggers).fields == ["triggers"]
    assert api.fails("CreateCampaign", many_conditions).fields == ["triggers[0].conditions"]
    assert api.total() == 0


# --- item 4: unbounded content and reports ----------------------------------------------------


def test_a_3_5_mb_html_body_is_rejected_and_nothing_is_stored(api: CampaignApi):
    body = pb.ChannelContent(
        channel=pb.CHANNEL_EMAIL,
        email=pb.EmailContent(subject="Big", html_body="<p>" + "x" * 3_500_000 + "</p>"),
    )

    failure = api.fails("CreateCampaign", scheduled_request(channels=[body]))

    assert failure.code == INVALID
    assert failure.fields == ["channels[0].email.html_body"]
    assert api.total() == 0


def test_upsert_with_many_bad_rows_answers_a_bounded_report_and_the_total(
    audience: AudienceApi,
):
    bad = [contact(f"bad-{i}", email="not an address") for i in range(2_500)]
    good = [contact(f"good-{i}") for i in range(10)]

    reply = audience.upsert(*bad[:1_200], *good, *bad[1_200:])

    assert reply.upserted_count == 10
    assert reply.rejected_count == 2_500
    assert len(reply.rejected) == 1_000
    assert [r.index for r in reply.rejected[:2]] == [0, 1]
    assert reply.rejected[0].user_id == "bad-0"


def test_a_one_megabyte_id_is_invalid_not_resource_exhausted(api: CampaignApi):
    failure = api.fails("GetCampaign", svc.GetCampaignRequest(campaign_id="x" * 1_000_000))

    assert failure.code == INVALID
    assert failure.fields == ["campaign_id"]
    assert len(failure.message) < 300


def test_an_id_echoed_in_an_error_is_truncated(api: CampaignApi):
    campaign_id = "y" * 128  # as long as an id may be

    failure = api.fails("GetCampaign", svc.GetCampaignRequest(campaign_id=campaign_id))

    assert failure.code == grpc.StatusCode.NOT_FOUND
    assert failure.error_metadata["campaign_id"] == "y" * 63 + "\u2026"
    assert "y" * 64 not in failure.message


# --- item 17: validation gaps -----------------------------------------------------------------


def test_a_campaign_name_of_255_characters_is_valid(api: CampaignApi):
    created = api.create(scheduled_request("n" * 255))

    assert created.name == "n" * 255
    assert api.fails("CreateCampaign", scheduled_request("n" * 256)).fields == ["name"]


def test_a_variant_allocation_of_zero_is_valid_when_the_sum_is_100(api: CampaignApi):
    arms = [
        pb.Variant(name="A", allocation_percentage=100, channels=[_sms()]),
        pb.Variant(name="B", allocation_percentage=0, channels=[_sms()]),
    ]

    created = api.create(scheduled_request(channels=[], variants=arms))

    assert [v.allocation_percentage for v in created.variants] == [100, 0]


def _sms() -> pb.ChannelContent:
    return pb.ChannelContent(channel=pb.CHANNEL_SMS, sms=pb.SmsContent(body="Hi"))


def test_in_app_content_needs_title_and_body_to_launch(api: CampaignApi):
    title_only = pb.ChannelContent(channel=pb.CHANNEL_IN_APP, in_app=pb.InAppContent(title="Sale"))
    created = api.create(triggered_request(channels=[title_only]))

    failure = api.fails(
        "ActivateCampaign", svc.ActivateCampaignRequest(campaign_id=created.campaign_id)
    )

    assert failure.code == grpc.StatusCode.FAILED_PRECONDITION
    assert failure.subjects == ["channels.in_app"]


def test_a_cancel_reason_is_at_most_500_characters(api: CampaignApi):
    created = api.create(scheduled_request())
    request = svc.CancelCampaignRequest(campaign_id=created.campaign_id, reason="r" * 501)

    assert api.fails("CancelCampaign", request).fields == ["reason"]
    assert api.get(created.campaign_id).status == created.status


@pytest.mark.parametrize(
    ("entry", "field"),
    [
        (apb.SuppressionEntry(address="ana@example.com"), "entries[0].reason"),
        (
            apb.SuppressionEntry(address="not an address", reason=apb.SUPPRESSION_REASON_MANUAL),
            "entries[0].address",
        ),
    ],
    ids=["no reason", "bad address"],
)
def test_a_suppression_needs_a_reason_and_a_valid_address(
    audience: AudienceApi, entry: apb.SuppressionEntry, field: str
):
    failure = audience.fails("AddSuppressions", asvc.AddSuppressionsRequest(entries=[entry]))

    assert failure.code == INVALID
    assert failure.fields == [field]
    assert audience.list_suppressions() == []


def test_valid_suppressions_by_email_and_phone_are_added(audience: AudienceApi):
    manual = apb.SUPPRESSION_REASON_MANUAL
    added = audience.suppress(
        apb.SuppressionEntry(address="ana@example.com", reason=manual),
        apb.SuppressionEntry(address="+14155550100", reason=manual),
    )

    assert added == 2


def test_create_segment_twice_with_one_id_is_already_exists(audience: AudienceApi):
    first = apb.Segment(segment_id="vip", name="First", conditions=conditions(1))
    audience.call("CreateSegment", asvc.CreateSegmentRequest(segment=first))
    second = apb.Segment(segment_id="vip", name="Second", conditions=conditions(2))

    failure = audience.fails("CreateSegment", asvc.CreateSegmentRequest(segment=second))

    assert failure.code == grpc.StatusCode.ALREADY_EXISTS
    stored = audience.call("GetSegment", asvc.GetSegmentRequest(segment_id="vip")).segment
    assert (stored.name, len(stored.conditions)) == ("First", 1)


def test_an_anonymous_caller_is_unauthenticated_before_any_cap_is_checked(
    channel: grpc.Channel,
):
    """Anonymous callers learn nothing about the caps."""
    stub = CampaignApi(channel, None).stub

    with pytest.raises(grpc.RpcError) as caught:
        stub.GetCampaign(svc.GetCampaignRequest(campaign_id="x" * 1_000), timeout=RPC_TIMEOUT)

    assert caught.value.code() == grpc.StatusCode.UNAUTHENTICATED
