"""ListTriggerEvaluations on the real server (SQLite and Postgres): scoped by organization, a
filter required, readable by every role and through grpcurl. What it lists once events arrive:
tests/e2e/test_triggered_campaigns.py and tests/contract/test_trigger_handler_contract.py."""

from __future__ import annotations

from collections.abc import Callable

import grpc
import pytest
from campaign.v1 import campaign_pb2 as pb
from campaign.v1 import campaign_service_pb2 as svc

from tests.e2e.helpers import CampaignApi, Grpcurl, mint_token, new_org, triggered_request

pytestmark = pytest.mark.e2e


def test_an_active_triggered_campaign_lists_its_evaluations(
    api: CampaignApi, api_as: Callable[..., CampaignApi], grpcurl: Grpcurl, org: str
) -> None:
    created = api.create(triggered_request("Order thanks"))
    active = api.call(
        "ActivateCampaign", svc.ActivateCampaignRequest(campaign_id=created.campaign_id)
    )
    assert active.campaign.status == pb.CAMPAIGN_STATUS_ACTIVE

    by_campaign = api_as(org, "user").call(
        "ListTriggerEvaluations",
        svc.ListTriggerEvaluationsRequest(campaign_id=created.campaign_id, page_size=10),
    )
    by_user = api.call("ListTriggerEvaluations", svc.ListTriggerEvaluationsRequest(user_id="u1"))
    shown = grpcurl.invoke(
        "campaign.v1.CampaignService/ListTriggerEvaluations",
        {"campaign_id": created.campaign_id, "user_id": "u1"},
        token=mint_token(org),
    )

    assert list(by_campaign.evaluations) == []
    assert by_campaign.next_page_token == ""
    assert list(by_user.evaluations) == []
    assert shown == {}


def test_another_organizations_campaign_is_not_found(
    api: CampaignApi, api_as: Callable[..., CampaignApi]
) -> None:
    created = api.create(triggered_request("Order thanks"))

    failure = api_as(new_org()).fails(
        "ListTriggerEvaluations",
        svc.ListTriggerEvaluationsRequest(campaign_id=created.campaign_id),
    )

    assert failure.code == grpc.StatusCode.NOT_FOUND


def test_a_filter_is_required_and_a_foreign_page_token_refused(api: CampaignApi) -> None:
    neither = api.fails("ListTriggerEvaluations", svc.ListTriggerEvaluationsRequest())
    forged = api.fails(
        "ListTriggerEvaluations",
        svc.ListTriggerEvaluationsRequest(user_id="u1", page_token="bm90LW91cnM"),
    )

    assert neither.code == grpc.StatusCode.INVALID_ARGUMENT
    assert {v.field for v in neither.field_violations} == {"campaign_id", "user_id"}
    assert forged.code == grpc.StatusCode.INVALID_ARGUMENT
    assert [v.field for v in forged.field_violations] == ["page_token"]
