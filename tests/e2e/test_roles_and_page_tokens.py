"""The role table seen from a client (every RPC, with a user's token), and page tokens that are
opaque and good only for the organization and the list they were cut for."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any

import grpc
import pytest
from campaign.v1 import audience_pb2 as apb
from campaign.v1 import audience_service_pb2 as asvc
from campaign.v1 import campaign_pb2 as pb
from campaign.v1 import campaign_service_pb2 as svc
from campaign.v1 import event_service_pb2, metrics_service_pb2
from google.protobuf import message_factory

from tests.e2e.engine_helpers import AudienceApi
from tests.e2e.helpers import (
    RPC_TIMEOUT,
    CampaignApi,
    RpcFailure,
    draft_request,
    mint_token,
    new_org,
)
from tests.support.roles import USER_MAY_CALL

pytestmark = pytest.mark.e2e

SERVICES = (
    svc.DESCRIPTOR.services_by_name["CampaignService"],
    asvc.DESCRIPTOR.services_by_name["AudienceService"],
    metrics_service_pb2.DESCRIPTOR.services_by_name["MetricsService"],
    event_service_pb2.DESCRIPTOR.services_by_name["EventService"],
)
EMAIL = "page-token-victim@example.com"


def all_methods() -> list[tuple[str, Any]]:
    return [(f"/{s.full_name}/{m.name}", m) for s in SERVICES for m in s.methods]


def call_empty(channel: grpc.Channel, path: str, method: Any, token: str) -> grpc.StatusCode:
    """Call `path` with an empty request as the holder of `token`; the status code."""
    request = message_factory.GetMessageClass(method.input_type)()
    response = message_factory.GetMessageClass(method.output_type)
    shape = (
        ("stream" if method.client_streaming else "unary")
        + "_"
        + ("stream" if method.server_streaming else "unary")
    )
    stub = getattr(channel, shape)(
        path,
        request_serializer=type(request).SerializeToString,
        response_deserializer=response.FromString,
    )
    argument = iter([request]) if method.client_streaming else request
    metadata = (("authorization", f"Bearer {token}"),)
    try:
        result = stub(argument, metadata=metadata, timeout=RPC_TIMEOUT)
        if method.server_streaming:
            for _ in result:
                break
    except grpc.RpcError as exc:
        return exc.code()  # type: ignore[no-any-return]
    return grpc.StatusCode.OK


def test_the_user_role_is_denied_exactly_the_rpcs_the_role_table_reserves(
    channel: grpc.Channel, org: str
):
    user = mint_token(org, "user")

    denied = {
        path.rsplit("/", 1)[-1]
        for path, method in all_methods()
        if call_empty(channel, path, method, user) == grpc.StatusCode.PERMISSION_DENIED
    }

    every = {path.rsplit("/", 1)[-1] for path, _ in all_methods()}
    assert denied == every - USER_MAY_CALL
    assert {"EstimateAudience", "PreviewMessage"} <= denied


@pytest.mark.parametrize("role", ["admin", "service", "system"])
def test_estimates_and_previews_stay_open_to_the_other_roles(
    channel: grpc.Channel, org: str, role: str
):
    token = mint_token(org, role)
    methods = dict(all_methods())
    for path in (
        "/campaign.v1.AudienceService/EstimateAudience",
        "/campaign.v1.CampaignService/PreviewMessage",
    ):
        code = call_empty(channel, path, methods[path], token)
        assert code not in (grpc.StatusCode.PERMISSION_DENIED, grpc.StatusCode.UNAUTHENTICATED)


# --- page tokens ------------------------------------------------------------------------------


def suppression_page(audience: AudienceApi, token: str = "") -> asvc.ListSuppressionsResponse:
    return audience.call(
        "ListSuppressions", asvc.ListSuppressionsRequest(page_size=1, page_token=token)
    )


@pytest.fixture
def suppressed(org: str, channel: grpc.Channel) -> AudienceApi:
    """An organization with two suppressed addresses, so a page of one has a next page."""
    audience = AudienceApi(channel, mint_token(org))
    reason = apb.SUPPRESSION_REASON_BOUNCED
    audience.suppress(
        apb.SuppressionEntry(address=EMAIL, channel=pb.CHANNEL_EMAIL, reason=reason),
        apb.SuppressionEntry(address="z" + EMAIL, channel=pb.CHANNEL_EMAIL, reason=reason),
    )
    return audience


def invalid_page_token(failure: RpcFailure) -> None:
    assert failure.code == grpc.StatusCode.INVALID_ARGUMENT, failure
    assert failure.fields == ["page_token"]


def test_a_page_token_is_opaque(suppressed: AudienceApi):
    token = suppression_page(suppressed).next_page_token
    raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))

    assert token
    assert EMAIL.encode() not in raw
    assert b"example" not in raw
    assert b'"p"' not in raw
    with pytest.raises((UnicodeDecodeError, json.JSONDecodeError)):  # unsealed: base64 JSON
        json.loads(raw)
    assert len(suppression_page(suppressed, token).entries) == 1  # and it still works


def test_a_tampered_page_token_is_invalid_argument(suppressed: AudienceApi):
    token = suppression_page(suppressed).next_page_token
    middle = len(token) // 2
    tampered = token[:middle] + ("A" if token[middle] != "A" else "B") + token[middle + 1 :]

    invalid_page_token(
        suppressed.fails(
            "ListSuppressions", asvc.ListSuppressionsRequest(page_size=1, page_token=tampered)
        )
    )


def test_another_organizations_page_token_is_invalid_argument(
    suppressed: AudienceApi, channel: grpc.Channel, new_org_as: Callable[[str], AudienceApi]
):
    token = suppression_page(suppressed).next_page_token
    other = new_org_as("admin")
    other.suppress(
        apb.SuppressionEntry(
            address="a@example.com",
            channel=pb.CHANNEL_EMAIL,
            reason=apb.SUPPRESSION_REASON_BOUNCED,
        )
    )

    invalid_page_token(
        other.fails("ListSuppressions", asvc.ListSuppressionsRequest(page_size=1, page_token=token))
    )


def test_a_page_token_of_another_list_is_invalid_argument(
    suppressed: AudienceApi, api: CampaignApi
):
    api.create(draft_request("One"))
    api.create(draft_request("Two"))
    suppressions_token = suppression_page(suppressed).next_page_token
    campaigns_token = api.list(page_size=1).next_page_token
    assert campaigns_token

    invalid_page_token(
        api.fails(
            "ListCampaigns", svc.ListCampaignsRequest(page_size=1, page_token=suppressions_token)
        )
    )
    invalid_page_token(
        suppressed.fails(
            "ListSuppressions",
            asvc.ListSuppressionsRequest(page_size=1, page_token=campaigns_token),
        )
    )
    assert len(api.list(page_size=1, page_token=campaigns_token).campaigns) == 1


@pytest.fixture
def new_org_as(channel: grpc.Channel) -> Callable[[str], AudienceApi]:

    def make(role: str) -> AudienceApi:
        return AudienceApi(channel, mint_token(new_org(), role))

    return make
