"""NATS outages under a running relay: events wait in the outbox, then go out exactly once.

Each test runs its own nats-server (never the shared one) and kills it with SIGKILL, like a
crashed broker, then starts it again on the same port and store directory.
"""

from __future__ import annotations

import pytest

from adapters.nats.publisher import NatsEventPublisher
from adapters.sql.unit_of_work import SqlStore
from domain.kernel.outbox_relay import relay_once
from server.workers import loop
from server.workers.outbox_relay import OutboxRelayWorker
from tests.integration.nats_support import (
    JetStreamReader,
    PrivateNatsServer,
    StreamNames,
    assert_each_exactly_once,
    connection,
    stream_message_count,
)
from tests.integration.relay_support import (
    DyingPublisher,
    RecordingLog,
    RelayDiedError,
    change_campaigns,
    eventually,
    pending_ids,
    recorded_ids,
)

pytestmark = pytest.mark.postgres

WAIT_SECONDS = 30.0


@pytest.fixture
def relay_log(monkeypatch: pytest.MonkeyPatch) -> RecordingLog:
    recording = RecordingLog()
    monkeypatch.setattr(loop, "log", recording)  # the worker loop's logger
    return recording


def publisher_for(server: PrivateNatsServer, names: StreamNames) -> NatsEventPublisher:
    return NatsEventPublisher(
        server.url,
        stream=names.stream,
        subject_prefix=names.prefix,
        connect_timeout=1.0,
        publish_timeout=1.0,
    )


def relay(store: SqlStore, publisher: NatsEventPublisher) -> OutboxRelayWorker:
    return OutboxRelayWorker(store.outbox_store(), publisher, poll_interval=0.05, batch_size=20)


async def test_events_made_while_nats_is_down_wait_in_the_outbox_then_go_out_once(
    sql_store: SqlStore, private_nats: PrivateNatsServer, relay_log: RecordingLog
) -> None:
    names = StreamNames.fresh()
    publisher = publisher_for(private_nats, names)
    worker = relay(sql_store, publisher)
    worker.start()
    try:
        await change_campaigns(sql_store.unit_of_work, 2)
        await eventually(lambda: _drained(sql_store), within=WAIT_SECONDS, what="first events")
        before = len(relay_log.warnings)
        published_before = await recorded_ids(sql_store)

        await private_nats.kill()
        await change_campaigns(sql_store.unit_of_work, 3)
        written_while_down = await recorded_ids(sql_store) - published_before
        await eventually(
            lambda: _warned(relay_log, before + 2), within=WAIT_SECONDS, what="relay warnings"
        )

        assert worker.running
        assert await pending_ids(sql_store) == written_while_down  # nothing lost, none sent
        assert len(written_while_down) == 3 * 6

        await private_nats.start()
        await eventually(lambda: _drained(sql_store), within=WAIT_SECONDS, what="the backlog")
        assert worker.running
    finally:
        await worker.stop()
        await publisher.close()

    await _assert_stream_holds_each_once(private_nats, names, await recorded_ids(sql_store))
    assert len(await recorded_ids(sql_store)) == 5 * 6
    assert all(fields["worker"] == "outbox-relay" for _, fields in relay_log.warnings)


async def test_a_relay_started_while_nats_is_down_reports_it_and_publishes_once_it_is_up(
    sql_store: SqlStore, private_nats: PrivateNatsServer, relay_log: RecordingLog
) -> None:
    names = StreamNames.fresh()
    await private_nats.kill()
    await change_campaigns(sql_store.unit_of_work, 2)
    publisher = publisher_for(private_nats, names)
    worker = relay(sql_store, publisher)
    worker.start()
    try:
        await eventually(lambda: _warned(relay_log, 2), within=WAIT_SECONDS, what="warnings")
        assert worker.running
        assert len(await pending_ids(sql_store)) == 2 * 6

        await private_nats.start()
        await eventually(lambda: _drained(sql_store), within=WAIT_SECONDS, what="the backlog")
    finally:
        await worker.stop()
        await publisher.close()

    await _assert_stream_holds_each_once(private_nats, names, await recorded_ids(sql_store))
    assert "NATS unreachable" in relay_log.warnings[0][1]["error"]


async def test_a_batch_republished_after_the_broker_restarted_is_still_deduplicated(
    sql_store: SqlStore, private_nats: PrivateNatsServer
) -> None:
    names = StreamNames.fresh()
    await change_campaigns(sql_store.unit_of_work, 2)
    first = publisher_for(private_nats, names)
    dying = DyingPublisher(first, "after_publishing", healthy_batches=0)
    try:
        with pytest.raises(RelayDiedError):
            await relay_once(sql_store.outbox_store(), dying, limit=100)
    finally:
        await first.close()
    assert len(dying.reached_the_bus) == len(await pending_ids(sql_store)) == 2 * 6

    await private_nats.kill()  # the broker goes down too, before anyone republished
    await private_nats.start()
    second = publisher_for(private_nats, names)
    worker = relay(sql_store, second)
    worker.start()
    try:
        await eventually(lambda: _drained(sql_store), within=WAIT_SECONDS, what="the republish")
    finally:
        await worker.stop()
        await second.close()

    await _assert_stream_holds_each_once(private_nats, names, await recorded_ids(sql_store))


async def _drained(store: SqlStore) -> bool:
    return await pending_ids(store) == set()


async def _warned(log: RecordingLog, count: int) -> bool:
    return len(log.warnings) >= count


async def _assert_stream_holds_each_once(
    server: PrivateNatsServer, names: StreamNames, expected: set[str]
) -> None:
    async with connection(server.url) as nc:
        js = nc.jetstream()
        reader = JetStreamReader(js, names)
        received = [*await reader.take(len(expected)), *await reader.take_all()]
        assert await stream_message_count(js, names.stream) == len(expected)
    assert_each_exactly_once(received, expected)
