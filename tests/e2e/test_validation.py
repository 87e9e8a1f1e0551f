"""Bad input is rejected with INVALID_ARGUMENT naming the field, and nothing is written."""

from __future__ import annotations

import grpc
import pytest
from campaign.v1 import campaign_pb2 as pb

from tests.e2e.helpers import (
    CampaignApi,
    email,
    scheduled_request,
    segment,
    sms,
    update_request,
    webhook,
)

pytestmark = pytest.mark.e2e


def variant(name: str, allocation: float) -> pb.Variant:
    return pb.Variant(name=name, allocation_percentage=allocation, channels=[sms(f"Arm {name}")])


INVALID_CREATES = {
    "holdout above 20": (
        scheduled_request(holdout_percentage=21),
        "holdout_percentage",
    ),
    "six variants": (
        scheduled_request(
            channels=[],
            variants=[
                variant(n, a) for n, a in zip("ABCDEF", (20, 20, 20, 20, 10, 10), strict=True)
            ],
        ),
        "variants",
    ),
    "allocations summing to 99": (
        scheduled_request(channels=[], variants=[variant("A", 50), variant("B", 49)]),
        "variants",
    ),
    "webhook over plain http": (
        scheduled_request(channels=[webhook("http://hooks.example.com/campaign")]),
        "channels[0].webhook.url",
    ),
    "unspecified campaign type": (
        scheduled_request(campaign_type=pb.CAMPAIGN_TYPE_UNSPECIFIED),
        "campaign_type",
    ),
    "email without a subject": (
        scheduled_request(channels=[email(subject="")]),
        "channels[0].email.subject",
    ),
    "eleven segments": (
        scheduled_request(audiences=[segment(f"seg-{i}") for i in range(11)]),
        "audiences",
    ),
    "attribution window of 31 days": (
        scheduled_request(
            conversion=pb.Conversion(event_type="order.completed", attribution_window_days=31)
        ),
        "conversion.attribution_window_days",
    ),
    "sms body of 161 characters": (
        scheduled_request(channels=[sms("x" * 161)]),
        "channels[0].sms.body",
    ),
    "blank name": (
        scheduled_request(name="   "),
        "name",
    ),
}


@pytest.mark.parametrize(
    ("request_", "field"), list(INVALID_CREATES.values()), ids=list(INVALID_CREATES)
)
def test_an_invalid_create_names_the_field_and_writes_nothing(
    api: CampaignApi, request_, field: str
):
    api.create(scheduled_request("The one valid campaign"))

    failure = api.fails("CreateCampaign", request_)

    assert failure.code == grpc.StatusCode.INVALID_ARGUMENT
    assert failure.fields == [field]
    assert failure.reason == "CAMPAIGN_INVALID"
    assert field in failure.message
    assert api.total() == 1


def test_every_problem_of_a_request_is_reported_at_once(api: CampaignApi):
    request = scheduled_request(
        holdout_percentage=25, channels=[sms("x" * 200), webhook("http://insecure.example")]
    )

    failure = api.fails("CreateCampaign", request)

    assert sorted(failure.fields) == [
        "channels[0].sms.body",
        "channels[1].webhook.url",
        "holdout_percentage",
    ]
    assert api.total() == 0


def test_an_invalid_request_with_a_request_id_does_not_reserve_the_id(api: CampaignApi):
    api.fails("CreateCampaign", scheduled_request(holdout_percentage=21, request_id="r-1"))

    created = api.create(scheduled_request(holdout_percentage=20, request_id="r-1"))

    assert created.holdout_percentage == 20
    assert api.total() == 1


def test_an_invalid_update_names_the_campaign_field_and_changes_nothing(api: CampaignApi):
    created = api.create(scheduled_request("Stable", holdout_percentage=10))
    edited = pb.Campaign(campaign_id=created.campaign_id, holdout_percentage=21)

    failure = api.fails("UpdateCampaign", update_request(edited, ["holdout_percentage"]))

    assert failure.code == grpc.StatusCode.INVALID_ARGUMENT
    assert failure.fields == ["campaign.holdout_percentage"]
    assert api.get(created.campaign_id) == created


def test_an_invalid_field_outside_the_update_mask_is_ignored(api: CampaignApi):
    created = api.create(scheduled_request("Masked"))
    edited = pb.Campaign(campaign_id=created.campaign_id, name="Renamed", holdout_percentage=99)

    updated = api.update(edited, ["name"], etag=created.etag)

    assert updated.name == "Renamed"
    assert updated.holdout_percentage == 0
