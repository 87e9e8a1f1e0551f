"""SendTransactional (one message now, idempotent by key) and PreviewMessage (a variant rendered
for a sample profile or a stored user) against the real server."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import grpc
import pytest
from campaign.v1 import campaign_pb2 as pb
from campaign.v1 import campaign_service_pb2 as svc
from campaign.v1 import execution_pb2 as xpb

from tests.e2e.engine_helpers import AudienceApi, contact, eventually, struct
from tests.e2e.helpers import (
    CampaignApi,
    email,
    mint_token,
    new_org,
    scheduled_request,
    sms,
)

pytestmark = pytest.mark.e2e

RECEIPT_SUBJECT = "Your receipt, {{ first_name }}"
RECEIPT_BODY = "<p>Order {{ order_id }}: {{ total }}</p>"
DELIVERY_TIMEOUT = 15.0


@pytest.fixture
def audience(channel: grpc.Channel, org: str) -> AudienceApi:
    """The org's directory: ann (email), bob (SMS only), carl (no consent at all)."""
    directory = AudienceApi(channel, mint_token(org))
    directory.upsert(
        contact("ann", attributes={"first_name": "Ann"}),
        contact("bob", email="", email_opted_in=False, phone="+14155550100", sms_opted_in=True),
        contact("carl", email_opted_in=False),
    )
    return directory


def receipt_request(name: str = "Receipts", **fields: Any) -> svc.CreateCampaignRequest:
    """A transactional campaign: email first, SMS as the fallback."""
    return svc.CreateCampaignRequest(
        **{
            "name": name,
            "campaign_type": pb.CAMPAIGN_TYPE_TRANSACTIONAL,
            "channels": [
                email(RECEIPT_SUBJECT, RECEIPT_BODY),
                sms("Order {{ order_id }} confirmed"),
            ],
            **fields,
        }
    )


@pytest.fixture
def receipts(api: CampaignApi, audience: AudienceApi) -> pb.Campaign:
    created = api.create(receipt_request())
    return api.transition("ActivateCampaign", created.campaign_id)


def send(api: CampaignApi, campaign_id: str, user_id: str, key: str = "", **context: Any):
    request = svc.SendTransactionalRequest(
        campaign_id=campaign_id, user_id=user_id, context=struct(context), idempotency_key=key
    )
    return api.call("SendTransactional", request).message


def send_fails(api: CampaignApi, campaign_id: str, user_id: str, key: str = "", **context: Any):
    request = svc.SendTransactionalRequest(
        campaign_id=campaign_id, user_id=user_id, context=struct(context), idempotency_key=key
    )
    return api.fails("SendTransactional", request)


def messages_of(api: CampaignApi, campaign_id: str, **filters: Any) -> list[xpb.Message]:
    request = svc.ListMessagesRequest(campaign_id=campaign_id, page_size=1000, **filters)
    return list(api.call("ListMessages", request).messages)


# --- SendTransactional ------------------------------------------------------------------------


def test_a_transactional_send_returns_the_queued_message_with_channel_and_recipient(
    api: CampaignApi, receipts: pb.Campaign
):
    message = send(api, receipts.campaign_id, "ann", "order-1", order_id="A-1", total="9.90")

    assert message.message_id
    assert message.campaign_id == receipts.campaign_id
    assert message.user_id == "ann"
    assert message.channel == pb.CHANNEL_EMAIL
    assert message.recipient == "ann@example.com"
    assert message.status == xpb.MESSAGE_STATUS_QUEUED
    assert message.queued_at.seconds > 0
    assert message.content_digest
    assert [m.message_id for m in messages_of(api, receipts.campaign_id)] == [message.message_id]


def test_a_transactional_message_is_delivered_by_the_sandbox(
    api: CampaignApi, receipts: pb.Campaign
):
    sent = send(api, receipts.campaign_id, "ann", order_id="A-2")

    def delivered() -> xpb.Message | None:
        request = svc.GetMessageRequest(
            campaign_id=receipts.campaign_id, message_id=sent.message_id
        )
        message = api.call("GetMessage", request).message
        return message if message.status == xpb.MESSAGE_STATUS_DELIVERED else None

    message = eventually(delivered, within=DELIVERY_TIMEOUT, what="delivery")
    assert message.delivered_at.ToDatetime() >= message.queued_at.ToDatetime()
    assert message.sent_at.seconds > 0
    assert message.content_digest == sent.content_digest


def test_a_user_without_email_gets_the_fallback_channel(api: CampaignApi, receipts: pb.Campaign):
    message = send(api, receipts.campaign_id, "bob", order_id="B-1")

    assert message.channel == pb.CHANNEL_SMS
    assert message.recipient == "+14155550100"


def test_the_same_idempotency_key_and_payload_return_the_same_message(
    api: CampaignApi, receipts: pb.Campaign
):
    first = send(api, receipts.campaign_id, "ann", "order-7", order_id="A-7", total="5")
    again = send(api, receipts.campaign_id, "ann", "order-7", order_id="A-7", total="5")

    assert again.message_id == first.message_id
    assert again.content_digest == first.content_digest
    assert [m.message_id for m in messages_of(api, receipts.campaign_id)] == [first.message_id]


def test_sends_without_an_idempotency_key_are_separate_messages(
    api: CampaignApi, receipts: pb.Campaign
):
    first = send(api, receipts.campaign_id, "ann", order_id="A-8")
    second = send(api, receipts.campaign_id, "ann", order_id="A-8")

    assert first.message_id != second.message_id
    assert len(messages_of(api, receipts.campaign_id, user_id="ann")) == 2


@pytest.mark.parametrize(
    ("user_id", "context"),
    [("ann", {"order_id": "A-10"}), ("bob", {"order_id": "A-9"})],
    ids=["different-context", "different-user"],
)
def test_the_same_idempotency_key_for_a_different_message_is_already_exists(
    api: CampaignApi, receipts: pb.Campaign, user_id: str, context: dict[str, Any]
):
    first = send(api, receipts.campaign_id, "ann", "order-9", order_id="A-9")

    failure = send_fails(api, receipts.campaign_id, user_id, "order-9", **context)

    assert failure.code == grpc.StatusCode.ALREADY_EXISTS
    assert failure.error_metadata == {"message_id": first.message_id}
    assert [m.message_id for m in messages_of(api, receipts.campaign_id)] == [first.message_id]


def test_idempotency_keys_are_per_campaign(api: CampaignApi, receipts: pb.Campaign):
    other = api.transition("ActivateCampaign", api.create(receipt_request("Other")).campaign_id)

    here = send(api, receipts.campaign_id, "ann", "shared-key", order_id="A-11")
    there = send(api, other.campaign_id, "ann", "shared-key", order_id="A-12")

    assert here.message_id != there.message_id
    assert there.campaign_id == other.campaign_id


@pytest.mark.parametrize("state", ["draft", "paused", "scheduled-type"])
def test_sending_on_a_campaign_that_is_not_an_active_transactional_one_is_failed_precondition(
    api: CampaignApi, audience: AudienceApi, state: str
):
    if state == "scheduled-type":
        campaign = api.create(scheduled_request("Newsletter"))
    else:
        campaign = api.create(receipt_request())
    if state == "paused":
        api.transition("ActivateCampaign", campaign.campaign_id)
        campaign = api.transition("PauseCampaign", campaign.campaign_id)

    failure = send_fails(api, campaign.campaign_id, "ann", order_id="A-13")

    assert failure.code == grpc.StatusCode.FAILED_PRECONDITION
    expected_status = {"draft": "draft", "paused": "paused", "scheduled-type": "draft"}[state]
    assert failure.error_metadata["status"] == expected_status
    assert failure.error_metadata["campaign_type"] == (
        "scheduled" if state == "scheduled-type" else "transactional"
    )
    assert messages_of(api, campaign.campaign_id) == []


def test_sending_to_an_unknown_user_is_not_found(api: CampaignApi, receipts: pb.Campaign):
    failure = send_fails(api, receipts.campaign_id, "nobody", order_id="A-14")

    assert failure.code == grpc.StatusCode.NOT_FOUND
    assert failure.error_metadata == {"user_id": "nobody"}
    assert messages_of(api, receipts.campaign_id) == []


def test_sending_to_a_user_reachable_on_no_channel_of_the_campaign_is_failed_precondition(
    api: CampaignApi, receipts: pb.Campaign
):
    failure = send_fails(api, receipts.campaign_id, "carl", order_id="A-15")

    assert failure.code == grpc.StatusCode.FAILED_PRECONDITION
    assert "carl" in failure.message


def test_a_context_that_makes_the_content_fail_to_render_is_failed_precondition(
    api: CampaignApi, audience: AudienceApi
):
    created = api.create(
        receipt_request(channels=[email("Your share", "<p>{{ 100 // parts }} each</p>")])
    )
    campaign = api.transition("ActivateCampaign", created.campaign_id)  # renders for a sample

    failure = send_fails(api, campaign.campaign_id, "ann", parts=0)

    assert failure.code == grpc.StatusCode.FAILED_PRECONDITION
    assert failure.reason == "TEMPLATE_RENDER_FAILED"
    assert "division by zero" in failure.message  # context numbers are floats
    assert messages_of(api, campaign.campaign_id) == []
    assert send(api, campaign.campaign_id, "ann", parts=4).status == xpb.MESSAGE_STATUS_QUEUED


MISSING_ID = "00000000-0000-4000-8000-000000000000"


def test_sending_on_an_unknown_or_another_orgs_campaign_is_campaign_not_found(
    channel: grpc.Channel,
    api: CampaignApi,
    api_as: Callable[..., CampaignApi],
    receipts: pb.Campaign,
):
    stranger = new_org()
    AudienceApi(channel, mint_token(stranger)).upsert(contact("ann"))

    foreign = send_fails(api_as(stranger), receipts.campaign_id, "ann", order_id="A-16")
    missing = send_fails(api, MISSING_ID, "ann", order_id="A-16")

    assert foreign.code == missing.code == grpc.StatusCode.NOT_FOUND
    assert foreign.reason == missing.reason == "CAMPAIGN_NOT_FOUND"
    assert foreign.error_metadata == {"campaign_id": receipts.campaign_id}
    assert messages_of(api, receipts.campaign_id) == []


def test_the_user_role_cannot_send_but_can_read_the_messages(
    api: CampaignApi, api_as: Callable[..., CampaignApi], org: str, receipts: pb.Campaign
):
    sent = send(api, receipts.campaign_id, "ann", order_id="A-17")
    reader = api_as(org, "user")

    failure = send_fails(reader, receipts.campaign_id, "ann", order_id="A-18")

    assert failure.code == grpc.StatusCode.PERMISSION_DENIED
    assert [m.message_id for m in messages_of(reader, receipts.campaign_id)] == [sent.message_id]


# --- PreviewMessage ---------------------------------------------------------------------------


@pytest.fixture
def ab_campaign(api: CampaignApi, audience: AudienceApi) -> pb.Campaign:
    """A draft A/B campaign: A by email and SMS, B by SMS, and a control arm."""
    return api.create(
        scheduled_request(
            "Spring A/B",
            channels=[],
            variants=[
                pb.Variant(
                    name="A",
                    allocation_percentage=40,
                    channels=[
                        email("Hi {{ first_name }}", "<p>{{ first_name }}, use {{ code }}</p>"),
                        sms("{{ first_name }}: code {{ code }}"),
                    ],
                ),
                pb.Variant(name="B", allocation_percentage=40, channels=[sms("Sale today")]),
                pb.Variant(name="Control", allocation_percentage=20, is_control=True),
            ],
        )
    )


def variant_id(campaign: pb.Campaign, name: str) -> str:
    return next(v.variant_id for v in campaign.variants if v.name == name)


def preview(api: CampaignApi, campaign: pb.Campaign, **fields: Any) -> svc.PreviewMessageResponse:
    if isinstance(fields.get("sample_profile"), dict):
        fields["sample_profile"] = struct(fields["sample_profile"])
    request = svc.PreviewMessageRequest(campaign_id=campaign.campaign_id, **fields)
    return api.call("PreviewMessage", request)


def preview_fails(api: CampaignApi, campaign: pb.Campaign, **fields: Any):
    if isinstance(fields.get("sample_profile"), dict):
        fields["sample_profile"] = struct(fields["sample_profile"])
    request = svc.PreviewMessageRequest(campaign_id=campaign.campaign_id, **fields)
    return api.fails("PreviewMessage", request)


def test_a_variant_renders_every_channel_for_a_sample_profile(
    api: CampaignApi, ab_campaign: pb.Campaign
):
    reply = preview(
        api,
        ab_campaign,
        variant_id=variant_id(ab_campaign, "A"),
        sample_profile={"first_name": "Zoe", "code": "SPRING"},
    )

    assert list(reply.contents) == [
        xpb.RenderedContent(
            channel=pb.CHANNEL_EMAIL, subject="Hi Zoe", html_body="<p>Zoe, use SPRING</p>"
        ),
        xpb.RenderedContent(channel=pb.CHANNEL_SMS, body="Zoe: code SPRING"),
    ]
    assert list(reply.warnings) == []


def test_a_variant_renders_for_a_stored_user_and_warns_about_missing_variables(
    api: CampaignApi, ab_campaign: pb.Campaign
):
    reply = preview(
        api,
        ab_campaign,
        variant_id=variant_id(ab_campaign, "A"),
        channel=pb.CHANNEL_EMAIL,
        sample_user_id="ann",
    )

    [content] = reply.contents
    assert content.channel == pb.CHANNEL_EMAIL
    assert content.subject == "Hi Ann"
    assert content.html_body == "<p>Ann, use </p>"
    assert len(reply.warnings) == 1
    assert "'code'" in reply.warnings[0]


def test_a_profile_missing_several_variables_gets_one_warning_each(
    api: CampaignApi, ab_campaign: pb.Campaign
):
    reply = preview(
        api, ab_campaign, variant_id=variant_id(ab_campaign, "A"), sample_profile={"x": 1}
    )

    assert [c.subject for c in reply.contents if c.channel == pb.CHANNEL_EMAIL] == ["Hi "]
    assert len(reply.warnings) == 2
    assert "'code'" in reply.warnings[0]
    assert "'first_name'" in reply.warnings[1]


def test_a_campaign_without_variants_previews_its_only_variant(
    api: CampaignApi, receipts: pb.Campaign
):
    reply = preview(
        api,
        receipts,
        sample_profile={"first_name": "Ann", "order_id": "A-1", "total": "9.90"},
    )

    assert [(c.channel, c.subject or c.body) for c in reply.contents] == [
        (pb.CHANNEL_EMAIL, "Your receipt, Ann"),
        (pb.CHANNEL_SMS, "Order A-1 confirmed"),
    ]
    assert reply.contents[0].html_body == "<p>Order A-1: 9.90</p>"


def test_the_user_role_cannot_preview(
    api_as: Callable[..., CampaignApi], org: str, ab_campaign: pb.Campaign
):
    # Previews render contacts' data: the spec keeps them for admin, service and system.
    failure = preview_fails(
        api_as(org, "user"),
        ab_campaign,
        variant_id=variant_id(ab_campaign, "B"),
        sample_profile={},
    )

    assert failure.code == grpc.StatusCode.PERMISSION_DENIED
    assert failure.reason == "PERMISSION_DENIED"


def test_previewing_an_unknown_variant_is_invalid_argument(
    api: CampaignApi, ab_campaign: pb.Campaign, receipts: pb.Campaign
):
    unknown = preview_fails(api, ab_campaign, variant_id="no-such-variant", sample_user_id="ann")
    foreign = preview_fails(
        api, receipts, variant_id=variant_id(ab_campaign, "A"), sample_user_id="ann"
    )

    assert unknown.code == foreign.code == grpc.StatusCode.INVALID_ARGUMENT
    assert unknown.fields == foreign.fields == ["variant_id"]


def test_previewing_a_channel_the_variant_has_no_content_for_is_invalid_argument(
    api: CampaignApi, ab_campaign: pb.Campaign
):
    failure = preview_fails(
        api,
        ab_campaign,
        variant_id=variant_id(ab_campaign, "B"),
        channel=pb.CHANNEL_EMAIL,
        sample_user_id="ann",
    )

    assert failure.code == grpc.StatusCode.INVALID_ARGUMENT
    assert failure.fields == ["channel"]


def test_previewing_without_a_sample_is_invalid_argument(
    api: CampaignApi, ab_campaign: pb.Campaign
):
    failure = preview_fails(api, ab_campaign, variant_id=variant_id(ab_campaign, "A"))

    assert failure.code == grpc.StatusCode.INVALID_ARGUMENT
    assert failure.fields == ["sample"]


def test_previewing_for_an_unknown_sample_user_is_not_found(
    api: CampaignApi, ab_campaign: pb.Campaign
):
    failure = preview_fails(
        api, ab_campaign, variant_id=variant_id(ab_campaign, "A"), sample_user_id="ghost"
    )

    assert failure.code == grpc.StatusCode.NOT_FOUND
    assert failure.error_metadata == {"user_id": "ghost"}


def test_previewing_another_orgs_campaign_is_campaign_not_found(
    api_as: Callable[..., CampaignApi], ab_campaign: pb.Campaign
):
    failure = preview_fails(api_as(new_org()), ab_campaign, sample_profile={"first_name": "Eve"})

    assert failure.code == grpc.StatusCode.NOT_FOUND
    assert failure.reason == "CAMPAIGN_NOT_FOUND"


def test_a_transactional_message_belongs_to_no_execution(api: CampaignApi, receipts: pb.Campaign):
    # The contract: Message.execution_id is empty for a transactional send, wherever it is read.
    sent = send(api, receipts.campaign_id, "ann", "order-x", order_id="A-9")
    read = api.call(
        "GetMessage",
        svc.GetMessageRequest(campaign_id=receipts.campaign_id, message_id=sent.message_id),
    ).message

    assert sent.execution_id == ""
    assert read.execution_id == ""
    assert [m.execution_id for m in messages_of(api, receipts.campaign_id)] == [""]
