"""Outbox relay on Postgres + JetStream: every committed change reaches consumers exactly once.

Changes go through the real use cases on a SqlStore; relays publish with NatsEventPublisher on
the shared server (a stream and subject prefix of each test's own); a JetStream consumer reads
what subscribers would see.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import defaultdict

import pytest

from adapters.nats.publisher import NatsEventPublisher
from adapters.sql.engine import make_engine
from adapters.sql.unit_of_work import SqlStore
from domain.kernel.outbox_relay import relay_once
from server.workers.outbox_relay import OutboxRelayWorker
from tests.integration.nats_support import (
    JetStreamReader,
    StreamNames,
    assert_each_exactly_once,
    connection,
    stream_message_count,
)
from tests.integration.relay_support import (
    LIFECYCLE,
    CountingPublisher,
    DyingPublisher,
    RelayDiedError,
    change_campaigns,
    eventually,
    pending_ids,
)

pytestmark = [pytest.mark.postgres, pytest.mark.nats]

WAIT_SECONDS = 30.0


async def test_changes_are_published_once_each_in_the_order_they_were_made(
    sql_store: SqlStore, shared_stream: tuple[str, StreamNames]
) -> None:
    url, names = shared_stream
    campaign_ids = await change_campaigns(sql_store.unit_of_work, 5)
    expected = await pending_ids(sql_store)
    publisher = NatsEventPublisher(url, stream=names.stream, subject_prefix=names.prefix)

    try:
        relayed = [await relay_once(sql_store.outbox_store(), publisher, limit=7) for _ in range(6)]
    finally:
        await publisher.close()

    assert relayed == [7, 7, 7, 7, 2, 0]
    async with connection(url) as nc:
        received = await JetStreamReader(nc.jetstream(), names).take(len(expected))
    assert_each_exactly_once(received, expected)
    assert all(r.subject == names.prefix + r.envelope["event_type"] for r in received)
    history = defaultdict(list)
    for r in received:
        history[r.envelope["data"]["campaign_id"]].append(r.envelope["event_type"])
    assert history == {cid: list(LIFECYCLE) for cid in campaign_ids}
    assert await pending_ids(sql_store) == set()


@pytest.mark.parametrize("how", ["after_publishing", "halfway", "hangs"])
async def test_an_event_is_published_once_per_change_even_when_the_relay_restarts_mid_batch(
    sql_store: SqlStore, shared_stream: tuple[str, StreamNames], how: str
) -> None:
    url, names = shared_stream
    await change_campaigns(sql_store.unit_of_work, 4)
    expected = await pending_ids(sql_store)
    outbox = sql_store.outbox_store()

    first = NatsEventPublisher(url, stream=names.stream, subject_prefix=names.prefix)
    dying = DyingPublisher(first, how, healthy_batches=1)
    try:
        assert await relay_once(outbox, dying, limit=10) == 10
        relay = asyncio.create_task(relay_once(outbox, dying, limit=10))
        async with asyncio.timeout(WAIT_SECONDS):
            await dying.died.wait()
            if how == "hangs":
                relay.cancel()
            with contextlib.suppress(RelayDiedError, asyncio.CancelledError):
                await relay
    finally:
        await first.close()
    assert len(dying.reached_the_bus) == (5 if how == "halfway" else 10)
    # The batch the relay died in is still pending.
    assert len(await pending_ids(sql_store)) == len(expected) - 10

    # A new relay process: its own connection, the worker loop, the same database.
    second = NatsEventPublisher(url, stream=names.stream, subject_prefix=names.prefix)
    worker = OutboxRelayWorker(outbox, second, poll_interval=0.05, batch_size=10)
    worker.start()
    try:
        await eventually(
            lambda: _outbox_empty(sql_store), within=WAIT_SECONDS, what="the outbox to drain"
        )
    finally:
        await worker.stop()
        await second.close()

    async with connection(url) as nc:
        js = nc.jetstream()
        reader = JetStreamReader(js, names)
        received = [*await reader.take(len(expected)), *await reader.take_all()]
        assert await stream_message_count(js, names.stream) == len(expected)
    assert_each_exactly_once(received, expected)


async def test_two_relays_on_one_database_deliver_every_event_once(
    database_url: str, shared_stream: tuple[str, StreamNames]
) -> None:
    url, names = shared_stream
    replicas = [SqlStore(make_engine(database_url)) for _ in range(2)]
    connections = [
        NatsEventPublisher(url, stream=names.stream, subject_prefix=names.prefix) for _ in replicas
    ]
    publishers = [CountingPublisher(publisher) for publisher in connections]
    workers = [
        OutboxRelayWorker(store.outbox_store(), publisher, poll_interval=0.02, batch_size=5)
        for store, publisher in zip(replicas, publishers, strict=True)
    ]
    try:
        for worker in workers:
            worker.start()
        # Changes keep coming, from both replicas, while both relays run.
        await asyncio.gather(*(change_campaigns(store.unit_of_work, 15) for store in replicas))
        await eventually(
            lambda: _outbox_empty(replicas[0]), within=WAIT_SECONDS, what="the outbox to drain"
        )
    finally:
        for worker in workers:
            await worker.stop()
        for publisher in connections:
            await publisher.close()
        for store in replicas:
            await store.close()

    expected = 2 * 15 * len(LIFECYCLE)
    by_relay = [publisher.published for publisher in publishers]
    everything = by_relay[0] + by_relay[1]
    assert len(everything) == len(set(everything)) == expected  # no event published twice
    assert all(by_relay), "both relays should have taken part"
    async with connection(url) as nc:
        js = nc.jetstream()
        reader = JetStreamReader(js, names)
        received = [*await reader.take(expected), *await reader.take_all()]
        assert await stream_message_count(js, names.stream) == expected
    assert_each_exactly_once(received, set(everything))


async def _outbox_empty(store: SqlStore) -> bool:
    return await pending_ids(store) == set()
