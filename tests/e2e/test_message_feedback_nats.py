"""Message feedback on the real stack (Postgres and NATS): a message handed to the notification
service stays `sent` until its `notification.*` reports arrive on NATS; reports published out of
order end in the same message as in order, and `campaign.message.*` events go out for them."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import grpc
import orjson
import pytest
from campaign.v1 import campaign_pb2 as pb
from campaign.v1 import campaign_service_pb2 as svc
from campaign.v1 import execution_pb2 as xpb

from tests.e2e.engine_helpers import AudienceApi, contact, eventually
from tests.e2e.helpers import CampaignApi, email, mint_token, new_org
from tests.e2e.test_inbound_nats_door import WAIT, nats_server, publish, wait_for
from tests.e2e.test_transactional_suppressions import get, send
from tests.integration.nats_support import connection
from tests.support.server_process import ServerProcess

pytestmark = [pytest.mark.e2e, pytest.mark.postgres, pytest.mark.nats]
__all__ = ["nats_server"]  # the fixture, used by name


def report(org: str, kind: str, message_id: str, at: datetime, **data: Any) -> bytes:
    return orjson.dumps(
        {
            "event_id": f"n-{uuid.uuid4().hex[:8]}",
            "event_type": f"notification.{kind}",
            "source": "notification_service",
            "organization_id": org,
            "occurred_at": at.isoformat(),
            "data": {"message_id": message_id, "status": kind, **data},
        }
    )


async def announced(url: str, subject: str) -> list[dict[str, Any]]:
    """Every event envelope published on `subject` so far (our events stream)."""
    async with connection(url) as nc:
        js = nc.jetstream(timeout=5)
        sub = await js.subscribe(subject, ordered_consumer=True)
        found: list[dict[str, Any]] = []
        try:
            while True:
                try:
                    message = await sub.next_msg(timeout=2)
                except TimeoutError:
                    return found
                found.append(orjson.loads(message.data))
        finally:
            await sub.unsubscribe()


@pytest.fixture
def stack(nats_server: tuple[ServerProcess, str, Any]) -> Iterator[tuple[Any, ...]]:
    server, url, names = nats_server
    org = new_org()
    with grpc.insecure_channel(server.address) as channel:
        AudienceApi(channel, mint_token(org)).upsert(contact("ann"))
        api = CampaignApi(channel, mint_token(org))
        created = api.create(
            svc.CreateCampaignRequest(
                name="Receipts",
                campaign_type=pb.CAMPAIGN_TYPE_TRANSACTIONAL,
                channels=[email("Receipt", "<p>Order {{ order_id }}</p>")],
            )
        )
        campaign = api.transition("ActivateCampaign", created.campaign_id)
        yield org, url, names, api, campaign


def test_reports_on_nats_move_a_sent_message_forward_in_any_order(stack: tuple[Any, ...]):
    org, url, names, api, campaign = stack
    for subject in ("notification.opened", "notification.delivered"):
        wait_for(url, names, subject, (0, 0))
    sent = send(api, campaign.campaign_id, "ann", order_id="A-1")

    handed = eventually(
        lambda: (
            (m := get(api, campaign.campaign_id, sent.message_id)).status == xpb.MESSAGE_STATUS_SENT
            and m
        ),
        within=WAIT,
        what="the hand-over to NATS",
    )
    t0 = handed.sent_at.ToDatetime(UTC)
    opened_at, delivered_at = t0 + timedelta(seconds=20), t0 + timedelta(seconds=10)
    asyncio.run(
        publish(
            url,
            f"{names.prefix}notification.opened",
            report(org, "opened", sent.message_id, opened_at),
        )
    )
    wait_for(url, names, "notification.opened", (0, 0))
    asyncio.run(
        publish(
            url,
            f"{names.prefix}notification.delivered",
            report(org, "delivered", sent.message_id, delivered_at, provider_message_id="p-7"),
        )
    )
    wait_for(url, names, "notification.delivered", (0, 0))

    message = get(api, campaign.campaign_id, sent.message_id)
    assert message.status == xpb.MESSAGE_STATUS_OPENED
    assert message.sent_at.ToDatetime(UTC) == t0
    assert message.delivered_at.ToDatetime(UTC) == delivered_at
    assert message.opened_at.ToDatetime(UTC) == opened_at
    assert message.provider_message_id == "p-7"
    events = asyncio.run(announced(url, f"{names.prefix}campaign.message.>"))
    # Both announced by the open, which proved delivery at its own instant; the delivery report
    # that came later moved delivered_at earlier, which announces nothing.
    assert sorted((e["event_type"], e["data"]["message_id"]) for e in events) == [
        ("campaign.message.delivered", sent.message_id),
        ("campaign.message.opened", sent.message_id),
    ]
    assert {e["data"].get("delivered_at") or e["data"]["opened_at"] for e in events} == {
        opened_at.isoformat()
    }
