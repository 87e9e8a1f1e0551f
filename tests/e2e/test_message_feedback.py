"""Message feedback against the real server: the embedded sandbox reports a message delivered,
and notification reports taken through EventService.TrackEvents move it forward only, show their
first instants in GetMessage and ListMessages, suppress a hard-bounced address, and count once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import grpc
import pytest
from campaign.v1 import audience_pb2 as apb
from campaign.v1 import campaign_pb2 as pb
from campaign.v1 import campaign_service_pb2 as svc
from campaign.v1 import execution_pb2 as xpb

from tests.e2e.engine_helpers import AudienceApi, contact
from tests.e2e.helpers import CampaignApi, email, mint_token
from tests.e2e.test_track_events import Events, event, summary, unique
from tests.e2e.test_transactional_suppressions import delivered, get, send

pytestmark = pytest.mark.e2e


@pytest.fixture
def audience(channel: grpc.Channel, org: str) -> AudienceApi:
    directory = AudienceApi(channel, mint_token(org))
    directory.upsert(contact("ann"), contact("bob"))
    return directory


@pytest.fixture
def receipts(api: CampaignApi, audience: AudienceApi) -> pb.Campaign:
    created = api.create(
        svc.CreateCampaignRequest(
            name="Receipts",
            campaign_type=pb.CAMPAIGN_TYPE_TRANSACTIONAL,
            channels=[email("Receipt", "<p>Order {{ order_id }}</p>")],
        )
    )
    return api.transition("ActivateCampaign", created.campaign_id)


def report(kind: str, message_id: str, at: datetime, **data: Any) -> Any:
    properties = {"message_id": message_id, "status": kind, "occurred_at": at.isoformat(), **data}
    return event(unique("n"), f"notification.{kind}", properties=properties)


def instant(stamp: Any) -> datetime:
    return stamp.ToDatetime(UTC)  # type: ignore[no-any-return]


def test_reports_move_a_sandbox_delivered_message_forward_only_and_count_once(
    channel: grpc.Channel, org: str, api: CampaignApi, receipts: pb.Campaign
):
    sent = send(api, receipts.campaign_id, "ann", order_id="A-1")
    first = delivered(api, receipts.campaign_id, sent.message_id)  # the sandbox's own report
    assert instant(first.sent_at) <= instant(first.delivered_at)
    events = Events(channel, org)
    opened_at = instant(first.delivered_at) + timedelta(seconds=30)
    opened = report("opened", sent.message_id, opened_at, provider_message_id="p-1")

    assert summary(events.track(opened)) == (1, 0, 0)
    assert summary(events.track(opened)) == (0, 1, 0)  # the same report again
    late = report("delivered", sent.message_id, opened_at + timedelta(minutes=5))
    assert summary(events.track(late)) == (1, 0, 0)

    message = get(api, receipts.campaign_id, sent.message_id)
    assert message.status == xpb.MESSAGE_STATUS_OPENED
    assert instant(message.opened_at) == opened_at
    assert instant(message.delivered_at) == instant(first.delivered_at)  # the first one kept
    assert message.provider_message_id == "p-1"
    listed = api.call(
        "ListMessages",
        svc.ListMessagesRequest(
            campaign_id=receipts.campaign_id, statuses=[xpb.MESSAGE_STATUS_OPENED]
        ),
    ).messages
    assert [m.message_id for m in listed] == [sent.message_id]


def test_a_hard_bounce_suppresses_the_address_and_an_unknown_message_is_rejected(
    channel: grpc.Channel,
    org: str,
    api: CampaignApi,
    audience: AudienceApi,
    receipts: pb.Campaign,
):
    sent = send(api, receipts.campaign_id, "bob", order_id="B-1")
    delivered(api, receipts.campaign_id, sent.message_id)
    at = datetime.now(UTC).replace(microsecond=0)
    bounce = report("bounced", sent.message_id, at, bounce_type="hard", error="no such user")

    response = Events(channel, org).track(bounce, report("delivered", "no-such-message", at))

    assert summary(response) == (1, 0, 1)
    assert response.rejected[0].index == 1
    assert "no message no-such-message" in response.rejected[0].reason
    message = get(api, receipts.campaign_id, sent.message_id)
    assert (message.status, message.bounce_type, message.error) == (
        xpb.MESSAGE_STATUS_BOUNCED,
        xpb.BOUNCE_TYPE_HARD,
        "no such user",
    )
    assert instant(message.bounced_at) == at
    entries = audience.list_suppressions()
    assert [(e.address, e.channel, e.reason) for e in entries] == [
        ("bob@example.com", pb.CHANNEL_EMAIL, apb.SUPPRESSION_REASON_BOUNCED)
    ]
