"""Organizations are sealed off: another organization's campaign looks like a missing one."""

from __future__ import annotations

from collections.abc import Callable

import grpc
import pytest
from campaign.v1 import campaign_pb2 as pb
from campaign.v1 import campaign_service_pb2 as svc

from tests.e2e.helpers import (
    CampaignApi,
    in_minutes,
    new_org,
    scheduled_request,
    timestamp,
    update_request,
)

pytestmark = pytest.mark.e2e

MISSING_ID = "00000000-0000-4000-8000-000000000000"


@pytest.fixture
def org_a(api_as: Callable[..., CampaignApi]) -> CampaignApi:
    return api_as(new_org())


@pytest.fixture
def org_b(api_as: Callable[..., CampaignApi]) -> CampaignApi:
    return api_as(new_org())


@pytest.fixture
def a_campaign(org_a: CampaignApi) -> pb.Campaign:
    return org_a.create(scheduled_request("A's secret launch", tags=["a"]))


def test_get_of_another_orgs_campaign_is_indistinguishable_from_a_missing_one(
    org_b: CampaignApi, a_campaign: pb.Campaign
):
    foreign = org_b.fails("GetCampaign", svc.GetCampaignRequest(campaign_id=a_campaign.campaign_id))
    missing = org_b.fails("GetCampaign", svc.GetCampaignRequest(campaign_id=MISSING_ID))

    assert foreign.code == missing.code == grpc.StatusCode.NOT_FOUND
    assert foreign.reason == missing.reason == "CAMPAIGN_NOT_FOUND"
    assert foreign.message.replace(a_campaign.campaign_id, "ID") == missing.message.replace(
        MISSING_ID, "ID"
    )
    assert foreign.error_metadata == {"campaign_id": a_campaign.campaign_id}
    assert "A's secret launch" not in foreign.message


def test_lists_of_two_organizations_are_disjoint(
    org_a: CampaignApi, org_b: CampaignApi, a_campaign: pb.Campaign
):
    org_a.create(scheduled_request("A second"))
    b_campaign = org_b.create(scheduled_request("B only"))

    a_page, b_page = org_a.list(), org_b.list()

    assert a_page.total_size == 2
    assert b_page.total_size == 1
    assert [c.campaign_id for c in b_page.campaigns] == [b_campaign.campaign_id]
    a_ids = {c.campaign_id for c in a_page.campaigns}
    assert a_campaign.campaign_id in a_ids
    assert b_campaign.campaign_id not in a_ids
    assert org_b.list(tags=["a"]).total_size == 0


@pytest.mark.parametrize(
    "rpc",
    [
        "UpdateCampaign",
        "DeleteCampaign",
        "ScheduleCampaign",
        "CloneCampaign",
        "CancelCampaign",
        "ActivateCampaign",
    ],
)
def test_writes_to_another_orgs_campaign_are_not_found_and_change_nothing(
    org_a: CampaignApi, org_b: CampaignApi, a_campaign: pb.Campaign, rpc: str
):
    campaign_id = a_campaign.campaign_id
    requests = {
        "UpdateCampaign": update_request(
            pb.Campaign(campaign_id=campaign_id, name="Hijacked"), ["name"], etag=a_campaign.etag
        ),
        "DeleteCampaign": svc.DeleteCampaignRequest(campaign_id=campaign_id),
        "ScheduleCampaign": svc.ScheduleCampaignRequest(
            campaign_id=campaign_id, scheduled_at=timestamp(in_minutes(30))
        ),
        "CloneCampaign": svc.CloneCampaignRequest(campaign_id=campaign_id, name="Stolen copy"),
        "CancelCampaign": svc.CancelCampaignRequest(campaign_id=campaign_id, reason="sabotage"),
        "ActivateCampaign": svc.ActivateCampaignRequest(campaign_id=campaign_id),
    }

    failure = org_b.fails(rpc, requests[rpc])

    assert failure.code == grpc.StatusCode.NOT_FOUND
    assert failure.reason == "CAMPAIGN_NOT_FOUND"
    assert org_a.get(campaign_id) == a_campaign
    assert org_b.list().total_size == 0
