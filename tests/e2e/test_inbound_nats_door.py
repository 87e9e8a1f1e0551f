"""Both doors of one real server process: an event published on NATS and the same event sent
to TrackEvents take effect once, in either order, and apart per organization; a poison message
is parked; the server stops cleanly with its consumers running. Shared NATS and Postgres, with
streams and a subject prefix of the test's own."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import grpc
import orjson
import pytest
from campaign.v1 import campaign_pb2 as pb
from campaign.v1 import campaign_service_pb2 as svc
from campaign.v1 import event_pb2, event_service_pb2, event_service_pb2_grpc
from campaign.v1 import execution_pb2 as xpb
from nats.js.errors import NotFoundError

from adapters.nats.inbound import durable_name
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
from tests.integration.nats_support import StreamNames, connection, delete_stream, shared_nats_url
from tests.support.migrated import migrated_postgres_url
from tests.support.server_process import (
    ServerProcess,
    server_env,
    start_server,
)

pytestmark = [pytest.mark.e2e, pytest.mark.postgres, pytest.mark.nats]

WAIT = 20.0


@pytest.fixture
def nats_server(tmp_path: Path) -> Iterator[tuple[ServerProcess, str, StreamNames]]:
    url, names = shared_nats_url(), StreamNames.fresh()
    with migrated_postgres_url() as database_url:  # as `migrate` leaves it
        env = server_env(
            tmp_path / "data",
            CAMPAIGN_DATABASE_URL=database_url,
            **names.server_settings(url),
            CAMPAIGN_NATS_INBOUND_RETRY_SECONDS="0.1",
        )
        server = start_server(env)
        try:
            yield server, url, names
        finally:
            server.stop()
            for stream in (names.stream, f"{names.stream}_EVENTS", f"{names.stream}_IN"):
                asyncio.run(delete_stream(url, stream))


def track(server: ServerProcess, org: str, event_id: str) -> event_service_pb2.TrackEventsResponse:
    with grpc.insecure_channel(server.address) as channel:
        return event_service_pb2_grpc.EventServiceStub(channel).TrackEvents(
            event_service_pb2.TrackEventsRequest(
                events=[event_pb2.TrackedEvent(event_id=event_id, event_type="order.completed")]
            ),
            metadata=bearer(mint_token(org)),
            timeout=RPC_TIMEOUT,
        )


async def publish(url: str, subject: str, body: bytes) -> None:
    async with connection(url) as nc:
        await nc.jetstream(timeout=5).publish(subject, body)


def envelope(org: str, event_id: str) -> bytes:
    return orjson.dumps(
        {
            "event_id": event_id,
            "event_type": "order.completed",
            "source": "order_service",
            "organization_id": org,
            "occurred_at": datetime.now(UTC).isoformat(),
            "data": {"user_id": "u-1", "value": 12},
        }
    )


async def parked_reasons(url: str, names: StreamNames) -> list[str]:
    async with connection(url) as nc:
        js = nc.jetstream(timeout=5)
        sub = await js.pull_subscribe(
            f"{names.prefix}campaign.dlq.>", stream=f"{names.stream}_EVENTS"
        )
        try:
            messages = await sub.fetch(1, timeout=WAIT)
        finally:
            await sub.unsubscribe()
        return [(m.headers or {}).get("Campaign-Dlq-Reason", "") for m in messages]


async def consumer_state(url: str, names: StreamNames, subject: str) -> tuple[int, int] | None:
    """(undelivered, unacknowledged) of our consumer of `subject`; None until it exists."""
    async with connection(url) as nc:
        try:
            info = await nc.jetstream(timeout=5).consumer_info(
                f"{names.stream}_IN", durable_name(names.prefix + subject)
            )
        except NotFoundError:
            return None
        return info.num_pending or 0, info.num_ack_pending or 0


def wait_for(url: str, names: StreamNames, subject: str, state: tuple[int, int]) -> None:
    deadline = time.monotonic() + WAIT
    while asyncio.run(consumer_state(url, names, subject)) != state:
        if time.monotonic() > deadline:
            pytest.fail(f"the consumer of {subject} never reached {state}")
        time.sleep(0.1)


def test_an_event_taken_from_nats_is_a_duplicate_for_trackevents(nats_server):
    server, url, names = nats_server
    org, event_id = new_org(), f"e-{uuid.uuid4().hex[:8]}"
    wait_for(url, names, "order.completed", (0, 0))  # bound: the server subscribed

    asyncio.run(publish(url, f"{names.prefix}order.completed", envelope(org, event_id)))
    wait_for(url, names, "order.completed", (0, 0))  # taken and acknowledged
    same = track(server, org, event_id)
    other_org = track(server, new_org(), event_id)

    assert (same.accepted_count, same.duplicate_count) == (0, 1)
    assert (other_org.accepted_count, other_org.duplicate_count) == (1, 0)


def test_an_event_tracked_first_is_acknowledged_as_a_duplicate_on_nats(nats_server):
    server, url, names = nats_server
    org, event_id = new_org(), f"e-{uuid.uuid4().hex[:8]}"
    wait_for(url, names, "order.completed", (0, 0))

    first = track(server, org, event_id)
    asyncio.run(publish(url, f"{names.prefix}order.completed", envelope(org, event_id)))
    wait_for(url, names, "order.completed", (0, 0))
    again = track(server, org, event_id)

    assert (first.accepted_count, again.duplicate_count) == (1, 1)


def test_a_poison_message_is_parked_and_the_server_stops_cleanly(nats_server):
    server, url, names = nats_server

    wait_for(url, names, "user.>", (0, 0))

    asyncio.run(publish(url, f"{names.prefix}user.deleted", b"\xff not json"))
    reasons = asyncio.run(parked_reasons(url, names))
    code = server.stop()

    [reason] = reasons
    assert reason.startswith("not JSON")
    assert code == 0
    assert "Traceback" not in server.log


async def delivery_requests(url: str, names: StreamNames, user_id: str) -> list[str]:
    """The message ids of the delivery requests for `user_id` on the run's delivery stream."""
    async with connection(url) as nc:
        js = nc.jetstream(timeout=5)
        sub = await js.pull_subscribe(f"{names.prefix}notification.send.>", stream=names.stream)
        found: list[str] = []
        try:
            while True:
                try:
                    batch = await sub.fetch(100, timeout=1)
                except TimeoutError:  # nats-py raises its own subclass, or the plain one
                    return found
                found += [
                    body["message_id"]
                    for body in (orjson.loads(m.data) for m in batch)
                    if body["user_id"] == user_id
                ]
        finally:
            await sub.unsubscribe()


def test_the_same_event_three_times_through_both_doors_fires_one_message(nats_server):
    """Published twice on NATS (two publishes: a redelivery as the broker sees it) and tracked
    once: one evaluation, one message, one delivery request."""
    server, url, names = nats_server
    org, event_id = new_org(), f"e-{uuid.uuid4().hex[:8]}"
    with grpc.insecure_channel(server.address) as channel:
        token = mint_token(org)
        AudienceApi(channel, token).upsert(contact("u-1", attributes={"active": True}))
        api = CampaignApi(channel, token)
        campaign_id = api.create(
            triggered_request(
                "Thanks",
                channels=[email("Thanks for your order")],
                throttle=pb.Throttle(quiet_hours=pb.QuietHours(enabled=False)),
            )
        ).campaign_id
        api.call("ActivateCampaign", svc.ActivateCampaignRequest(campaign_id=campaign_id))
        wait_for(url, names, "order.completed", (0, 0))

        asyncio.run(publish(url, f"{names.prefix}order.completed", envelope(org, event_id)))
        asyncio.run(publish(url, f"{names.prefix}order.completed", envelope(org, event_id)))
        wait_for(url, names, "order.completed", (0, 0))
        tracked = track(server, org, event_id)

        def sent() -> list[Any]:
            page = api.call("ListMessages", svc.ListMessagesRequest(campaign_id=campaign_id))
            return [m for m in page.messages if m.status == xpb.MESSAGE_STATUS_SENT]

        [message] = eventually(sent, within=WAIT, what="the triggered message sent")
        evaluations = api.call(
            "ListTriggerEvaluations", svc.ListTriggerEvaluationsRequest(campaign_id=campaign_id)
        ).evaluations

    assert (tracked.accepted_count, tracked.duplicate_count) == (0, 1)
    assert [e.event_id for e in evaluations] == [event_id]
    assert asyncio.run(delivery_requests(url, names, "u-1")) == [message.message_id]
