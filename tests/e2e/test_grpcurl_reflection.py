"""What an operator sees with grpcurl: services through reflection, health, JSON in and out."""

from __future__ import annotations

import grpc
import pytest

from tests.e2e.helpers import CampaignApi, Grpcurl, mint_token

pytestmark = pytest.mark.e2e

CAMPAIGN_SERVICES = (
    "campaign.v1.AudienceService",
    "campaign.v1.CampaignService",
    "campaign.v1.EventService",
    "campaign.v1.MetricsService",
)
CREATE = "campaign.v1.CampaignService/CreateCampaign"
GET = "campaign.v1.CampaignService/GetCampaign"
LIST = "campaign.v1.CampaignService/ListCampaigns"
UPDATE = "campaign.v1.CampaignService/UpdateCampaign"


def sms_campaign_json(name: str, body: str = "Hi {{ first_name }}") -> dict[str, object]:
    return {
        "name": name,
        "description": "created with grpcurl",
        "campaign_type": "CAMPAIGN_TYPE_SCHEDULED",
        "audiences": [{"segment_type": "SEGMENT_TYPE_INCLUDE", "segment_id": "seg-vip"}],
        "channels": [{"channel": "CHANNEL_SMS", "sms": {"body": body}}],
        "holdout_percentage": 5,
        "tags": ["grpcurl", "spring"],
        "metadata": {"owner": "ops"},
    }


def test_list_shows_exactly_the_campaign_health_and_reflection_services(grpcurl: Grpcurl):
    result = grpcurl.run("list")

    assert result.returncode == 0, result.output
    assert result.stdout.split() == [
        *CAMPAIGN_SERVICES,
        "grpc.health.v1.Health",
        "grpc.reflection.v1alpha.ServerReflection",
    ]


def test_describe_campaign_service_lists_its_rpcs_with_request_types(grpcurl: Grpcurl):
    result = grpcurl.run("describe", "campaign.v1.CampaignService")

    assert result.returncode == 0, result.output
    assert "campaign.v1.CampaignService is a service:" in result.stdout
    for rpc in ("CreateCampaign", "ListCampaigns", "ScheduleCampaign", "CancelCampaign"):
        assert (
            f"rpc {rpc} ( .campaign.v1.{rpc}Request ) returns ( .campaign.v1.{rpc}Response );"
            in result.stdout
        )


def test_describe_resolves_message_types_through_reflection(grpcurl: Grpcurl):
    result = grpcurl.run("describe", "campaign.v1.ListCampaignsRequest")

    assert result.returncode == 0, result.output
    assert "repeated .campaign.v1.CampaignStatus statuses = 3;" in result.stdout
    assert "string page_token = 2;" in result.stdout


def test_describe_shows_the_protos_comments(grpcurl: Grpcurl):
    """Reflection serves the files with their source info (server/reflection_comments.py)."""
    service = grpcurl.run("describe", "campaign.v1.CampaignService")
    message = grpcurl.run("describe", "campaign.v1.SendCampaignNowRequest")

    assert service.returncode == 0, service.output
    assert "// Manages campaigns, their lifecycle," in service.stdout
    assert "  // Creates a campaign in draft." in service.stdout
    assert message.returncode == 0, message.output
    assert "// Request of SendCampaignNow.\nmessage SendCampaignNowRequest {" in message.stdout
    assert "  // Required. Campaign id: a draft campaign" in message.stdout


@pytest.mark.parametrize("service", ["", *CAMPAIGN_SERVICES])
def test_health_check_reports_serving_without_a_token(grpcurl: Grpcurl, service: str):
    reply = grpcurl.invoke("grpc.health.v1.Health/Check", {"service": service})

    assert reply == {"status": "SERVING"}


def test_health_check_of_an_unknown_service_is_not_found(grpcurl: Grpcurl):
    result = grpcurl.run("grpc.health.v1.Health/Check", body={"service": "campaign.v1.Nope"})

    assert result.status["code"] == grpc.StatusCode.NOT_FOUND.value[0]


def test_campaign_created_from_json_reads_back_through_get_and_list(
    grpcurl: Grpcurl, org: str, api: CampaignApi
):
    token = mint_token(org)

    created = grpcurl.invoke(CREATE, sms_campaign_json("Spring SMS"), token=token)["campaign"]
    got = grpcurl.invoke(GET, {"campaign_id": created["campaign_id"]}, token=token)
    listed = grpcurl.invoke(LIST, {"page_size": 10}, token=token)

    assert created["organization_id"] == org
    assert created["name"] == "Spring SMS"
    assert created["campaign_type"] == "CAMPAIGN_TYPE_SCHEDULED"
    assert created["status"] == "CAMPAIGN_STATUS_DRAFT"
    assert created["channels"] == [
        {"channel": "CHANNEL_SMS", "sms": {"body": "Hi {{ first_name }}"}}
    ]
    assert created["audiences"][0]["segment_type"] == "SEGMENT_TYPE_INCLUDE"
    assert created["audiences"][0]["segment_id"] == "seg-vip"
    assert created["audiences"][0]["audience_id"]  # assigned by the service
    assert created["holdout_percentage"] == 5
    assert created["tags"] == ["grpcurl", "spring"]
    assert created["metadata"] == {"owner": "ops"}
    assert created["etag"]
    assert created["created_at"].endswith("Z")
    assert got == {"campaign": created}
    assert listed == {"campaigns": [created], "total_size": 1}
    assert api.get(created["campaign_id"]).name == "Spring SMS"  # the typed stubs agree


def test_invalid_sms_body_shows_invalid_argument_and_the_field_violation(
    grpcurl: Grpcurl, org: str, api: CampaignApi
):
    token = mint_token(org)
    too_long = sms_campaign_json("Too long", body="x" * 161)

    plain = grpcurl.run(CREATE, body=too_long, token=token, format_error=False)
    formatted = grpcurl.run(CREATE, body=too_long, token=token)

    assert plain.returncode != 0
    assert "Code: InvalidArgument" in plain.output
    assert "channels[0].sms.body" in plain.output
    assert formatted.status["code"] == grpc.StatusCode.INVALID_ARGUMENT.value[0]
    [bad_request] = formatted.details("google.rpc.BadRequest")
    assert [v["field"] for v in bad_request["field_violations"]] == ["channels[0].sms.body"]
    assert "160" in bad_request["field_violations"][0]["description"]
    [info] = formatted.details("google.rpc.ErrorInfo")
    assert info["reason"] == "CAMPAIGN_INVALID"
    assert api.total() == 0


def test_a_campaign_call_without_a_token_is_unauthenticated_in_grpcurl_too(grpcurl: Grpcurl):
    result = grpcurl.run(LIST, body={})

    assert result.status["code"] == grpc.StatusCode.UNAUTHENTICATED.value[0]


def test_update_through_grpcurl_takes_a_field_mask_and_etag(grpcurl: Grpcurl, org: str):
    token = mint_token(org)
    created = grpcurl.invoke(CREATE, sms_campaign_json("Before"), token=token)["campaign"]
    body = {
        "campaign": {
            "campaign_id": created["campaign_id"],
            "name": "After",
            "holdout_percentage": 7.5,
        },
        "update_mask": {"paths": ["name", "holdout_percentage"]},
        "etag": created["etag"],
    }

    updated = grpcurl.invoke(UPDATE, body, token=token)["campaign"]
    stale = grpcurl.run(UPDATE, body=body, token=token)

    assert updated["name"] == "After"
    assert updated["holdout_percentage"] == 7.5
    assert updated["description"] == created["description"]
    assert updated["etag"] != created["etag"]
    assert stale.status["code"] == grpc.StatusCode.ABORTED.value[0]
