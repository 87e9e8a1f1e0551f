"""Bearer-JWT authentication and role checks, seen from a client."""

from __future__ import annotations

import time
from collections.abc import Callable

import grpc
import pytest
from campaign.v1 import campaign_pb2 as pb
from campaign.v1 import campaign_service_pb2 as svc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from tests.e2e.helpers import (
    CampaignApi,
    Grpcurl,
    RpcFailure,
    draft_request,
    mint_token,
    update_request,
)
from tests.support.server_process import TEST_SECRET

pytestmark = pytest.mark.e2e

LEEWAY_SECONDS = 30  # the server's clock-skew allowance


def list_with_metadata(
    channel: grpc.Channel, metadata: tuple[tuple[str, str], ...]
) -> svc.ListCampaignsResponse:
    api = CampaignApi(channel, None)
    api.metadata = metadata
    return api.call("ListCampaigns", svc.ListCampaignsRequest())


def unauthenticated(channel: grpc.Channel, token: str | None) -> RpcFailure:
    failure = CampaignApi(channel, token).fails("ListCampaigns", svc.ListCampaignsRequest())
    assert failure.code == grpc.StatusCode.UNAUTHENTICATED, failure
    assert failure.reason == "UNAUTHENTICATED"
    return failure


def test_a_minted_token_for_the_test_secret_is_accepted(channel: grpc.Channel, org: str):
    # The control for every rejection below: the same claims, correctly signed, work.
    assert CampaignApi(channel, mint_token(org)).list().total_size == 0


def test_a_call_without_a_token_is_unauthenticated(channel: grpc.Channel):
    failure = unauthenticated(channel, None)

    assert "authorization" in failure.message


def test_a_non_bearer_authorization_header_is_unauthenticated(channel: grpc.Channel, org: str):
    with pytest.raises(grpc.RpcError) as caught:
        list_with_metadata(channel, (("authorization", f"Basic {mint_token(org)}"),))

    assert caught.value.code() == grpc.StatusCode.UNAUTHENTICATED


def test_a_garbage_token_is_unauthenticated(channel: grpc.Channel):
    unauthenticated(channel, "not-a-jwt")


def test_an_expired_token_is_unauthenticated(channel: grpc.Channel, org: str):
    expired = mint_token(org, expires_in=-(LEEWAY_SECONDS + 90), iat=int(time.time()) - 3600)

    failure = unauthenticated(channel, expired)

    assert "expired" in failure.message


def test_a_token_expired_within_the_leeway_is_still_accepted(channel: grpc.Channel, org: str):
    barely_expired = mint_token(org, expires_in=-5)

    assert CampaignApi(channel, barely_expired).list().total_size == 0


def test_an_unsigned_alg_none_token_is_unauthenticated(channel: grpc.Channel, org: str):
    unsigned = mint_token(org, secret=None, algorithm="none")

    unauthenticated(channel, unsigned)


def test_a_token_signed_with_another_secret_is_unauthenticated(channel: grpc.Channel, org: str):
    forged = mint_token(org, secret="another-secret-" + "y" * 32)
    assert forged != mint_token(org, secret=TEST_SECRET)

    unauthenticated(channel, forged)


def test_a_token_without_an_organization_is_unauthenticated(channel: grpc.Channel, org: str):
    unauthenticated(channel, mint_token(org, org_id=None))


@pytest.mark.parametrize("claim", ["org_id", "sub"])
def test_a_token_with_a_blank_identity_claim_is_unauthenticated(
    channel: grpc.Channel, org: str, claim: str
):
    unauthenticated(channel, mint_token(org, **{claim: "  "}))


def test_a_token_with_only_unknown_roles_may_not_even_read(channel: grpc.Channel, org: str):
    failure = CampaignApi(channel, mint_token(org, roles=["superuser"])).fails(
        "ListCampaigns", svc.ListCampaignsRequest()
    )

    assert failure.code == grpc.StatusCode.PERMISSION_DENIED


def test_role_user_can_read_but_not_write(api_as: Callable[..., CampaignApi], org: str):
    admin, user = api_as(org, "admin"), api_as(org, "user")
    campaign = admin.create(draft_request("Admin made this"))

    assert user.get(campaign.campaign_id) == campaign
    assert [c.campaign_id for c in user.list().campaigns] == [campaign.campaign_id]
    renamed = pb.Campaign(campaign_id=campaign.campaign_id, name="User was here")
    refused = {
        "CreateCampaign": user.fails("CreateCampaign", draft_request("User made this")),
        "UpdateCampaign": user.fails(
            "UpdateCampaign", update_request(renamed, ["name"], etag=campaign.etag)
        ),
        "DeleteCampaign": user.fails(
            "DeleteCampaign", svc.DeleteCampaignRequest(campaign_id=campaign.campaign_id)
        ),
    }

    assert {rpc: f.code for rpc, f in refused.items()} == dict.fromkeys(
        refused, grpc.StatusCode.PERMISSION_DENIED
    )
    assert {f.reason for f in refused.values()} == {"PERMISSION_DENIED"}
    assert admin.get(campaign.campaign_id) == campaign
    assert admin.list().total_size == 1


@pytest.mark.parametrize("role", ["admin", "service", "system"])
def test_writer_roles_can_create(api_as: Callable[..., CampaignApi], org: str, role: str):
    campaign = api_as(org, role).create(draft_request(f"By {role}"))

    assert campaign.created_by == f"{role}@{org}"


def test_health_answers_without_a_token(channel: grpc.Channel):
    reply = health_pb2_grpc.HealthStub(channel).Check(
        health_pb2.HealthCheckRequest(service="campaign.v1.CampaignService"), timeout=10
    )

    assert reply.status == health_pb2.HealthCheckResponse.SERVING


def test_reflection_answers_without_a_token(grpcurl: Grpcurl):
    result = grpcurl.run("describe", "campaign.v1.Campaign")

    assert result.returncode == 0, result.output
    assert "string campaign_id = 1;" in result.stdout


@pytest.mark.parametrize(
    "claims",
    [
        {"roles": {"admin": False}},  # an object's keys once read as roles: admin
        {"roles": 7},  # once INTERNAL
        {"roles": [["admin"]]},  # once INTERNAL
        {"org_id": 123},  # once the tenant "123"
        {"org_id": ["org"]},
        {"org_id": {"id": "org"}},
        {"exp": "4102444800"},  # a string (of a future instant, 2100-01-01): once accepted
    ],
    ids=repr,
)
def test_a_claim_of_the_wrong_type_is_unauthenticated(
    channel: grpc.Channel, org: str, claims: dict[str, object]
):
    failure = unauthenticated(channel, mint_token(org, **claims))

    assert "invalid token" in failure.message
