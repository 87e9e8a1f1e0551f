"""Traces across the broker, on Postgres + JetStream: a change made inside a span stores that
span's W3C traceparent with its outbox row, and the relay sends it in the NATS headers; a change
made outside any span carries none. Spans come from an SDK provider of the test's own (the
global one is left alone), recorded in memory."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from nats.aio.msg import Msg
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from sqlalchemy import select

from adapters.nats.publisher import NatsEventPublisher
from adapters.sql.engine import make_engine
from adapters.sql.schema import outbox_events
from adapters.sql.unit_of_work import SqlStore
from adapters.system import SystemClock, UuidGenerator
from adapters.trace_context import CurrentTraceContext
from domain.campaigns.service import CampaignService
from domain.kernel.outbox_relay import relay_once
from tests.contract.builders import rich_spec
from tests.integration.nats_support import StreamNames, connection
from tests.integration.relay_support import ADMIN

pytestmark = [pytest.mark.postgres, pytest.mark.nats]


@pytest.fixture
async def traced_store(database_url: str) -> AsyncIterator[SqlStore]:
    store = SqlStore(make_engine(database_url), trace=CurrentTraceContext())
    try:
        yield store
    finally:
        await store.close()


def traceparent_of(span: trace.Span) -> str:
    context = span.get_span_context()
    return f"00-{context.trace_id:032x}-{context.span_id:016x}-{context.trace_flags:02x}"


async def stored_contexts(store: SqlStore) -> dict[str, str | None]:
    """event type -> the trace_context column of its outbox row."""
    statement = select(outbox_events.c.event_type, outbox_events.c.trace_context)
    async with store.engine.connect() as connection:
        return {row.event_type: row.trace_context for row in await connection.execute(statement)}


async def received(url: str, names: StreamNames, count: int) -> dict[str, Msg]:
    """event subject (without the prefix) -> the message a JetStream consumer got."""
    async with connection(url) as nc:
        subscription = await nc.jetstream().pull_subscribe(names.subjects, stream=names.stream)
        messages = await subscription.fetch(count, timeout=10)
    return {m.subject.removeprefix(names.prefix): m for m in messages}


async def test_the_traceparent_of_the_span_that_made_a_change_rides_with_its_event(
    traced_store: SqlStore, shared_stream: tuple[str, StreamNames]
) -> None:
    url, names = shared_stream
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(InMemorySpanExporter()))
    service = CampaignService(traced_store.unit_of_work, SystemClock(), UuidGenerator())
    with provider.get_tracer("test").start_as_current_span("CreateCampaign") as rpc:
        created = await service.create_campaign(ADMIN, rich_spec("Traced"))
    await service.activate_campaign(ADMIN, created.campaign_id)  # outside any span

    assert await stored_contexts(traced_store) == {
        "campaign.created": traceparent_of(rpc),
        "campaign.activated": None,
    }
    publisher = NatsEventPublisher(url, stream=names.stream, subject_prefix=names.prefix)
    try:
        assert await relay_once(traced_store.outbox_store(), publisher) == 2
    finally:
        await publisher.close()
    messages = await received(url, names, 2)
    assert (messages["campaign.created"].headers or {}).get("traceparent") == traceparent_of(rpc)
    assert "traceparent" not in (messages["campaign.activated"].headers or {})
