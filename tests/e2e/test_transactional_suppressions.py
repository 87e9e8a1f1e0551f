"""SendTransactional and the suppression list: a receipt may ignore a marketing unsubscribe,
never a hard bounce, a complaint or an operator's entry (a GDPR erasure request). Such a send
answers with the message SUPPRESSED and its reason, and nothing is handed to delivery."""

from __future__ import annotations

from typing import Any

import grpc
import pytest
from campaign.v1 import audience_pb2 as apb
from campaign.v1 import audience_service_pb2 as asvc
from campaign.v1 import campaign_pb2 as pb
from campaign.v1 import campaign_service_pb2 as svc
from campaign.v1 import execution_pb2 as xpb

from tests.e2e.engine_helpers import AudienceApi, contact, eventually, struct
from tests.e2e.helpers import CampaignApi, email, mint_token, sms

pytestmark = pytest.mark.e2e

DELIVERY_TIMEOUT = 15.0
BOUNCED = apb.SUPPRESSION_REASON_BOUNCED
COMPLAINED = apb.SUPPRESSION_REASON_COMPLAINED
MANUAL = apb.SUPPRESSION_REASON_MANUAL
UNSUBSCRIBED = apb.SUPPRESSION_REASON_UNSUBSCRIBED


@pytest.fixture
def audience(channel: grpc.Channel, org: str) -> AudienceApi:
    """ann (email only), dana (email, and SMS as the fallback), witness (email)."""
    directory = AudienceApi(channel, mint_token(org))
    directory.upsert(
        contact("ann"),
        contact("dana", phone="+14155550123", sms_opted_in=True),
        contact("witness"),
    )
    return directory


@pytest.fixture
def receipts(api: CampaignApi, audience: AudienceApi) -> pb.Campaign:
    created = api.create(
        svc.CreateCampaignRequest(
            name="Receipts",
            campaign_type=pb.CAMPAIGN_TYPE_TRANSACTIONAL,
            channels=[email("Receipt", "<p>Order {{ order_id }}</p>"), sms("Order {{ order_id }}")],
        )
    )
    return api.transition("ActivateCampaign", created.campaign_id)


def send(api: CampaignApi, campaign_id: str, user_id: str, **context: Any) -> xpb.Message:
    request = svc.SendTransactionalRequest(
        campaign_id=campaign_id, user_id=user_id, context=struct(context)
    )
    return api.call("SendTransactional", request).message


def get(api: CampaignApi, campaign_id: str, message_id: str) -> xpb.Message:
    request = svc.GetMessageRequest(campaign_id=campaign_id, message_id=message_id)
    return api.call("GetMessage", request).message


def delivered(api: CampaignApi, campaign_id: str, message_id: str) -> xpb.Message:
    def check() -> xpb.Message | None:
        message = get(api, campaign_id, message_id)
        return message if message.status == xpb.MESSAGE_STATUS_DELIVERED else None

    return eventually(check, within=DELIVERY_TIMEOUT, what="delivery")


ENTRIES = {
    "bounced-address": apb.SuppressionEntry(address="ann@example.com", reason=BOUNCED),
    "bounced-email-channel": apb.SuppressionEntry(
        address="ANN@example.com", channel=pb.CHANNEL_EMAIL, reason=BOUNCED
    ),
    "complained-user": apb.SuppressionEntry(user_id="ann", reason=COMPLAINED),
    "manual-user": apb.SuppressionEntry(user_id="ann", reason=MANUAL),
}


@pytest.mark.parametrize("entry", sorted(ENTRIES))
def test_a_bounce_a_complaint_or_an_operator_entry_suppresses_the_send_and_nothing_is_delivered(
    api: CampaignApi, audience: AudienceApi, receipts: pb.Campaign, entry: str
):
    audience.suppress(ENTRIES[entry])

    answered = send(api, receipts.campaign_id, "ann", order_id="A-1")
    # A message sent after it reaching the sandbox shows the relay went past the first one.
    later = send(api, receipts.campaign_id, "witness", order_id="W-1")
    delivered(api, receipts.campaign_id, later.message_id)
    stored = get(api, receipts.campaign_id, answered.message_id)

    assert answered.status == xpb.MESSAGE_STATUS_SUPPRESSED
    assert answered.suppression_reason == ENTRIES[entry].reason
    assert answered.channel == pb.CHANNEL_EMAIL
    assert apb.SuppressionReason.Name(ENTRIES[entry].reason).split("_")[-1].lower() in (
        answered.error
    )
    assert stored.status == xpb.MESSAGE_STATUS_SUPPRESSED  # never handed to delivery
    assert stored.suppression_reason == ENTRIES[entry].reason
    assert not stored.HasField("sent_at")
    listed = api.call(
        "ListMessages",
        svc.ListMessagesRequest(
            campaign_id=receipts.campaign_id, statuses=[xpb.MESSAGE_STATUS_SUPPRESSED]
        ),
    ).messages
    assert [m.message_id for m in listed] == [answered.message_id]


def test_a_marketing_unsubscribe_does_not_stop_a_receipt(
    api: CampaignApi, audience: AudienceApi, receipts: pb.Campaign
):
    audience.suppress(apb.SuppressionEntry(user_id="ann", reason=UNSUBSCRIBED))

    answered = send(api, receipts.campaign_id, "ann", order_id="A-2")

    assert answered.status == xpb.MESSAGE_STATUS_QUEUED
    assert answered.suppression_reason == apb.SUPPRESSION_REASON_UNSPECIFIED
    assert delivered(api, receipts.campaign_id, answered.message_id).channel == pb.CHANNEL_EMAIL


def test_a_bounced_email_falls_back_to_the_next_channel_the_recipient_can_get(
    api: CampaignApi, audience: AudienceApi, receipts: pb.Campaign
):
    audience.suppress(
        apb.SuppressionEntry(address="dana@example.com", channel=pb.CHANNEL_EMAIL, reason=BOUNCED)
    )

    answered = send(api, receipts.campaign_id, "dana", order_id="D-1")

    assert answered.status == xpb.MESSAGE_STATUS_QUEUED
    assert answered.channel == pb.CHANNEL_SMS
    assert answered.recipient == "+14155550123"


def test_a_contact_erased_under_gdpr_gets_nothing(
    api: CampaignApi, audience: AudienceApi, receipts: pb.Campaign
):
    audience.call("DeleteContact", asvc.DeleteContactRequest(user_id="ann"))

    request = svc.SendTransactionalRequest(campaign_id=receipts.campaign_id, user_id="ann")
    failure = api.fails("SendTransactional", request)
    listed = api.call(
        "ListMessages", svc.ListMessagesRequest(campaign_id=receipts.campaign_id)
    ).messages

    assert failure.code == grpc.StatusCode.NOT_FOUND
    assert list(listed) == []
