"""A worker process other than worker 0 (docs/worker-processes.md) runs no engine, yet a trigger
its own intake fires goes out at once: its intake wakes its own trigger release and delivery
relay (server.composition.services.trigger_handover), which otherwise poll only once a minute.
In one process, on the embedded store: nothing else could release or hand the message over."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import pytest
from campaign.v1 import campaign_pb2 as pb
from campaign.v1 import campaign_service_pb2 as svc
from campaign.v1 import event_pb2, event_service_pb2, event_service_pb2_grpc
from campaign.v1 import execution_pb2 as xpb

from server.composition import Application, build_application
from server.composition.services import HANDOVER_POLL_SECONDS
from server.settings import Settings
from tests.e2e.engine_helpers import AudienceApi, contact, eventually
from tests.e2e.helpers import (
    RPC_TIMEOUT,
    CampaignApi,
    bearer,
    email,
    mint_token,
    new_org,
    triggered_request,
)
from tests.support.server_process import TEST_SECRET

# The sandbox delivery reports each message delivered as soon as it was handed over.
HANDED_OVER = (xpb.MESSAGE_STATUS_SENT, xpb.MESSAGE_STATUS_DELIVERED)
WITHIN = 20.0  # well below the hand-over's own poll: only the intake's wake can make it


def settings(data_dir: Path) -> Settings:
    return Settings(  # type: ignore[call-arg]
        _env_file=None,
        data_dir=data_dir,
        grpc_address="127.0.0.1:0",
        http_address="127.0.0.1:0",
        jwt_secret=TEST_SECRET,
    )


@pytest.fixture
async def second_worker(tmp_path: Path) -> AsyncIterator[Application]:
    application = await build_application(settings(tmp_path), background=False)
    await application.start()
    try:
        yield application
    finally:
        await application.stop()


def fire_one_trigger(address: str) -> list[xpb.Message]:
    """A triggered campaign, an event for its one contact through TrackEvents; the campaign's
    messages once one of them was handed over."""
    org = new_org()
    token = mint_token(org)
    with grpc.insecure_channel(address) as channel:
        AudienceApi(channel, token).upsert(contact("u-1", attributes={"active": True}))
        api = CampaignApi(channel, token)
        campaign_id = api.create(
            triggered_request(
                channels=[email("Thanks for your order")],
                throttle=pb.Throttle(quiet_hours=pb.QuietHours(enabled=False)),
            )
        ).campaign_id
        api.call("ActivateCampaign", svc.ActivateCampaignRequest(campaign_id=campaign_id))
        event_service_pb2_grpc.EventServiceStub(channel).TrackEvents(
            event_service_pb2.TrackEventsRequest(
                events=[
                    event_pb2.TrackedEvent(
                        event_id="e-1", event_type="order.completed", user_id="u-1"
                    )
                ]
            ),
            metadata=bearer(token),
            timeout=RPC_TIMEOUT,
        )

        def sent() -> list[xpb.Message] | None:
            page = api.call("ListMessages", svc.ListMessagesRequest(campaign_id=campaign_id))
            messages = list(page.messages)
            return messages if any(m.status in HANDED_OVER for m in messages) else None

        return eventually(sent, within=WITHIN, what="the triggered message handed over")


async def test_a_trigger_fired_outside_worker_0_is_handed_over_by_its_own_process(
    second_worker: Application,
) -> None:
    assert WITHIN < HANDOVER_POLL_SECONDS
    assert second_worker.services.workers == []  # no scheduler, executor, relay of its own
    assert [w.name for w in second_worker.services.per_process] == [
        "delivery",
        "trigger-handover",
        "trigger-release",
    ]

    messages = await asyncio.to_thread(fire_one_trigger, second_worker.address)

    [message] = messages
    assert (message.user_id, message.status in HANDED_OVER) == ("u-1", True)
