"""Traces across the broker, on Postgres + JetStream: a change made inside a span stores that
span's W3C traceparent with its outbox row, and the relay sends it in the NATS headers; a change
made outside any span carries none. A message written alone (a transactional send) does the
same through the delivery relay. Spans come from an SDK provider of the test's own (the global
one is left alone), recorded in memory."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from nats.aio.msg import Msg
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from sqlalchemy import select

from adapters.nats.delivery import NatsDeliveryPublisher
from adapters.nats.publisher import NatsEventPublisher
from adapters.sql.engine import make_engine
from adapters.sql.schema import outbox_events
from adapters.sql.unit_of_work import SqlStore
from adapters.system import SystemClock, UuidGenerator
from adapters.trace_context import CurrentTraceContext
from domain.campaigns.service import CampaignService
from domain.execution.model import Message
from domain.kernel.channels import Channel
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


def transactional_message(campaign_id: str) -> Message:
    now = datetime.now(UTC)
    return Message(
        message_id="m-1",
        execution_id="x-1",
        campaign_id=campaign_id,
        organization_id=ADMIN.organization_id,
        user_id="u-1",
        variant_id="v-1",
        channel=Channel.EMAIL,
        recipient="u-1@example.com",
        content={"subject": "Your receipt", "body": "Thanks"},
        send_after=now,
        queued_at=now,
    )


async def test_a_message_written_alone_carries_the_traceparent_of_the_span_that_wrote_it(
    traced_store: SqlStore, shared_stream: tuple[str, StreamNames]
) -> None:
    url, names = shared_stream
    provider = TracerProvider()
    service = CampaignService(traced_store.unit_of_work, SystemClock(), UuidGenerator())
    campaign = await service.create_campaign(ADMIN, rich_spec("Receipts"))
    with provider.get_tracer("test").start_as_current_span("SendTransactional") as rpc:
        async with traced_store.unit_of_work() as uow:
            await uow.messages.add_many([transactional_message(campaign.campaign_id)])
            await uow.commit()

    publisher = NatsDeliveryPublisher(url, stream=names.stream, subject_prefix=names.prefix)
    try:
        async with traced_store.delivery_outbox().claim_due(datetime.now(UTC), 10) as batch:
            assert [m.trace_context for m in batch.messages] == [traceparent_of(rpc)]
            await publisher.publish(batch.messages)
    finally:
        await publisher.close()
    [request] = (await received(url, names, 1)).values()
    assert request.subject == f"{names.prefix}notification.send.email"
    assert (request.headers or {}).get("traceparent") == traceparent_of(rpc)
