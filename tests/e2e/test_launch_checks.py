"""Launch checks resolve every referenced segment (include and exclude): a campaign whose saved
segment does not exist is refused at ScheduleCampaign, ActivateCampaign and SendCampaignNow, one
PreconditionViolation per missing segment, instead of failing later at run time."""

from __future__ import annotations

from collections.abc import Callable

import grpc
import pytest
from campaign.v1 import audience_pb2 as apb
from campaign.v1 import audience_service_pb2 as asvc
from campaign.v1 import campaign_pb2 as pb
from campaign.v1 import campaign_service_pb2 as svc

from tests.e2e.engine_helpers import AudienceApi
from tests.e2e.helpers import (
    CampaignApi,
    in_minutes,
    mint_token,
    new_org,
    scheduled_request,
    segment,
    timestamp,
    triggered_request,
)

pytestmark = pytest.mark.e2e


@pytest.fixture
def audience(channel: grpc.Channel, org: str) -> AudienceApi:
    return AudienceApi(channel, mint_token(org))


def excluded(segment_id: str) -> pb.Audience:
    return pb.Audience(segment_type=pb.SEGMENT_TYPE_EXCLUDE, segment_id=segment_id)


def save_segment(audience: AudienceApi, segment_id: str) -> None:
    plan = pb.Condition(field="plan", operator=pb.CONDITION_OPERATOR_EQUALS)
    plan.value.string_value = "pro"
    request = asvc.CreateSegmentRequest(
        segment=apb.Segment(segment_id=segment_id, name=segment_id, conditions=[plan])
    )
    audience.call("CreateSegment", request)


LAUNCHES: dict[str, tuple[Callable[..., object], dict[str, object]]] = {
    "ScheduleCampaign": (scheduled_request, {"scheduled_at": timestamp(in_minutes(60))}),
    "ActivateCampaign": (triggered_request, {}),
    "SendCampaignNow": (scheduled_request, {}),
}


@pytest.mark.parametrize("rpc", sorted(LAUNCHES))
def test_a_launch_naming_missing_segments_is_refused_with_one_violation_each(
    api: CampaignApi, audience: AudienceApi, rpc: str
):
    build, fields = LAUNCHES[rpc]
    save_segment(audience, "present")
    audiences = [segment("present"), segment("gone-include"), excluded("gone-exclude")]
    created = api.create(build("Missing segments", audiences=audiences))  # type: ignore[arg-type]

    failure = api.fails(rpc, _request(rpc, created.campaign_id, fields))

    assert failure.code == grpc.StatusCode.FAILED_PRECONDITION
    assert failure.subjects == ["audiences[1].segment_id", "audiences[2].segment_id"]
    assert {v.type for v in failure.precondition_violations} == {"SEGMENT_NOT_FOUND"}
    assert "gone-include" in failure.message
    assert "gone-exclude" in failure.message
    assert api.get(created.campaign_id).status == pb.CAMPAIGN_STATUS_DRAFT  # nothing changed


@pytest.mark.parametrize("rpc", sorted(LAUNCHES))
def test_the_same_launch_passes_once_its_segments_exist(
    api: CampaignApi, audience: AudienceApi, rpc: str
):
    build, fields = LAUNCHES[rpc]
    audiences = [segment("later-include"), excluded("later-exclude")]
    created = api.create(build("Segments saved later", audiences=audiences))  # type: ignore[arg-type]
    api.fails(rpc, _request(rpc, created.campaign_id, fields))

    save_segment(audience, "later-include")
    save_segment(audience, "later-exclude")
    launched = api.call(rpc, _request(rpc, created.campaign_id, fields)).campaign

    assert launched.status in (
        pb.CAMPAIGN_STATUS_SCHEDULED,
        pb.CAMPAIGN_STATUS_ACTIVE,
        pb.CAMPAIGN_STATUS_RUNNING,
    )


def test_a_segment_of_another_organization_does_not_count(api: CampaignApi, channel: grpc.Channel):
    other = AudienceApi(channel, mint_token(new_org()))
    save_segment(other, "theirs")
    created = api.create(scheduled_request("Borrowed segment", audiences=[segment("theirs")]))

    _, fields = LAUNCHES["ScheduleCampaign"]
    failure = api.fails(
        "ScheduleCampaign", _request("ScheduleCampaign", created.campaign_id, fields)
    )

    assert failure.code == grpc.StatusCode.FAILED_PRECONDITION
    assert failure.subjects == ["audiences[0].segment_id"]


def _request(rpc: str, campaign_id: str, fields: dict[str, object]) -> object:
    return getattr(svc, f"{rpc}Request")(campaign_id=campaign_id, **fields)
