"""Traces across the broker, on one real server process (Postgres, NATS, the console exporter):
an RPC whose caller sent a W3C traceparent causes an event that reaches a NATS consumer with a
traceparent of the same trace; an event taken from NATS with a traceparent is processed in a
span of the sender's trace (read from the spans the server prints). docs/observability-traces.md
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import time
from collections.abc import Callable, Iterator
from typing import Any

import grpc
import orjson
import pytest
from campaign.v1 import campaign_service_pb2_grpc
from nats.aio.msg import Msg
from nats.js.errors import NotFoundError

from tests.e2e.helpers import RPC_TIMEOUT, bearer, draft_request, mint_token, new_org
from tests.e2e.test_inbound_nats_door import envelope, wait_for
from tests.integration.nats_support import StreamNames, connection, delete_stream, shared_nats_url
from tests.support.migrated import migrated_postgres_url
from tests.support.server_process import ServerProcess, server_env, start_server

pytestmark = [pytest.mark.e2e, pytest.mark.postgres, pytest.mark.nats]

WAIT = 20.0


@pytest.fixture(scope="module")
def traced_server(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[ServerProcess, str, StreamNames]]:
    url, names = shared_nats_url(), StreamNames.fresh()
    with migrated_postgres_url() as database_url:  # as `migrate` leaves it
        env = server_env(
            tmp_path_factory.mktemp("traced"),
            CAMPAIGN_DATABASE_URL=database_url,
            **names.server_settings(url),
            CAMPAIGN_OTEL_EXPORTER="console",
            OTEL_BSP_SCHEDULE_DELAY="100",  # spans printed within a tenth of a second
        )
        server = start_server(env)
        try:
            yield server, url, names
        finally:
            server.stop()
            for stream in (names.stream, f"{names.stream}_EVENTS", f"{names.stream}_IN"):
                asyncio.run(delete_stream(url, stream))


def printed_spans(log: str) -> list[dict[str, Any]]:
    """The spans the console exporter printed: each a JSON object whose braces stand alone on
    their lines (the server's own log lines are one-line JSON)."""
    spans, block = [], list[str]()
    for line in log.splitlines():
        if line == "{":
            block = [line]
        elif block:
            block.append(line)
            if line == "}":
                with contextlib.suppress(ValueError):
                    spans.append(orjson.loads("\n".join(block)))
                block = []
    return spans


def printed_until(
    server: ServerProcess, until: Callable[[list[dict[str, Any]]], bool], what: str
) -> list[dict[str, Any]]:
    """Every span printed so far, once `until` holds for them (a failure after WAIT s)."""
    deadline = time.monotonic() + WAIT
    while not until(spans := printed_spans(server.log)):
        if time.monotonic() > deadline:
            pytest.fail(f"{what} after {WAIT} s: {[s['name'] for s in spans]}")
        time.sleep(0.1)
    return spans


def of_trace(spans: list[dict[str, Any]], trace_id: str) -> list[dict[str, Any]]:
    return [s for s in spans if s.get("context", {}).get("trace_id") == f"0x{trace_id}"]


def new_traceparent() -> tuple[str, str]:
    """(traceparent, its trace id): a caller's sampled span of a trace of the test's own."""
    trace_id = secrets.token_hex(16)
    return f"00-{trace_id}-{secrets.token_hex(8)}-01", trace_id


async def event_of(url: str, names: StreamNames, campaign_id: str, subject: str) -> Msg:
    """The `subject` event of `campaign_id`, as a consumer of the events stream receives it."""
    deadline = time.monotonic() + WAIT
    async with connection(url) as nc:
        js = nc.jetstream(timeout=5)
        while True:  # the relay creates the stream with its first publish
            try:
                subscription = await js.pull_subscribe(
                    names.prefix + subject, stream=f"{names.stream}_EVENTS"
                )
                break
            except NotFoundError:
                if time.monotonic() > deadline:
                    raise
                await asyncio.sleep(0.1)
        while time.monotonic() < deadline:
            try:
                batch = await subscription.fetch(10, timeout=1)
            except TimeoutError:  # nats-py raises its own subclass, or the plain one
                continue
            for message in batch:
                if orjson.loads(message.data)["data"]["campaign_id"] == campaign_id:
                    return message
    pytest.fail(f"no {subject} event of {campaign_id} in {WAIT} s")


def test_a_nats_consumer_sees_the_traceparent_of_the_rpc_that_caused_the_event(traced_server):
    server, url, names = traced_server
    org = new_org()
    traceparent, trace_id = new_traceparent()

    with grpc.insecure_channel(server.address) as channel:
        created = (
            campaign_service_pb2_grpc.CampaignServiceStub(channel)
            .CreateCampaign(
                draft_request(),
                metadata=(*bearer(mint_token(org)), ("traceparent", traceparent)),
                timeout=RPC_TIMEOUT,
            )
            .campaign
        )
    message = asyncio.run(event_of(url, names, created.campaign_id, "campaign.created"))

    headers = message.headers or {}
    version, sent_trace_id, parent_span_id, _flags = headers["traceparent"].split("-")
    assert (version, sent_trace_id) == ("00", trace_id)
    assert parent_span_id != traceparent.split("-")[2]  # the server's span, a child of ours
    # The RPC's span, and in it the database statements' (the SQLAlchemy instrumentation).
    spans = printed_until(
        server,
        lambda spans: (
            any(is_sql(s) for s in of_trace(spans, trace_id))
            and any(s["name"] == "outbox relay" for s in spans)
        ),
        "no SQL span of the RPC's trace, or no relay span",
    )
    [rpc] = [s for s in of_trace(spans, trace_id) if s["name"].endswith("/CreateCampaign")]
    assert rpc["context"]["span_id"] == f"0x{parent_span_id}"
    # The relay's steps that published are printed; its idle polls are not (server/idle_steps.py).
    relays = [s["attributes"]["campaign.worker.done"] for s in spans if s["name"] == "outbox relay"]
    assert min(relays) >= 1


def is_sql(span: dict[str, Any]) -> bool:
    attributes = span.get("attributes") or {}
    return "db.system" in attributes or "db.system.name" in attributes


def test_an_event_taken_from_nats_continues_the_trace_its_sender_began(traced_server):
    server, url, names = traced_server
    traceparent, trace_id = new_traceparent()
    wait_for(url, names, "order.completed", (0, 0))  # the server subscribed

    asyncio.run(
        publish_traced(
            url, f"{names.prefix}order.completed", envelope(new_org(), "e-1"), traceparent
        )
    )

    spans = printed_until(
        server, lambda spans: bool(of_trace(spans, trace_id)), f"no span of trace {trace_id}"
    )
    [taken] = [s for s in of_trace(spans, trace_id) if s["name"].startswith("process ")]
    assert taken["name"] == f"process {names.prefix}order.completed"
    assert taken["parent_id"] == f"0x{traceparent.split('-')[2]}"


async def publish_traced(url: str, subject: str, body: bytes, traceparent: str) -> None:
    async with connection(url) as nc:
        await nc.jetstream(timeout=5).publish(subject, body, headers={"traceparent": traceparent})
