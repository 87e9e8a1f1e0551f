"""NatsEventPublisher against real servers: streams it finds, brokers that die, stall or vanish.

Whatever goes wrong must surface as DependencyUnavailableError within a bounded time (the relay
then keeps the events pending and retries), and the same publisher must recover on its own.
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime

import pytest
from nats.js.api import StreamConfig

from adapters.nats.publisher import CLOSE_TIMEOUT_SECONDS, NatsEventPublisher, subject_covers
from domain.kernel.errors import DependencyUnavailableError
from domain.kernel.events import DomainEvent
from tests.integration.nats_support import (
    JetStreamReader,
    PrivateNatsServer,
    StreamNames,
    assert_each_exactly_once,
    connection,
    free_port,
    stream_message_count,
)

WAIT_SECONDS = 20.0


def event(number: int) -> DomainEvent:
    return DomainEvent(
        f"evt-{number}",
        "campaign.updated",
        "org-a",
        datetime(2030, 1, 1, tzinfo=UTC),
        {"n": number},
    )


def publisher_for(url: str, names: StreamNames, *, timeout: float = 1.0) -> NatsEventPublisher:
    return NatsEventPublisher(
        url,
        stream=names.stream,
        subject_prefix=names.prefix,
        connect_timeout=timeout,
        publish_timeout=timeout,
    )


async def publish_when_possible(publisher: NatsEventPublisher, events: list[DomainEvent]) -> None:
    """What the relay does: retry on DependencyUnavailableError, here for WAIT_SECONDS at most."""
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        try:
            await publisher.publish(events)
            return
        except DependencyUnavailableError:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.1)


async def assert_stream_holds(url: str, names: StreamNames, expected: set[str]) -> None:
    async with connection(url) as nc:
        js = nc.jetstream()
        reader = JetStreamReader(js, names)
        received = [*await reader.take(len(expected)), *await reader.take_all()]
        assert await stream_message_count(js, names.stream) == len(expected)
    assert_each_exactly_once(received, expected)


@pytest.mark.parametrize(
    ("pattern", "subjects", "covered"),
    [
        ("p.campaign.>", "p.campaign.>", True),
        ("p.>", "p.campaign.>", True),
        (">", "p.campaign.>", True),
        ("p.*.>", "p.campaign.>", True),
        ("p.campaign.*", "p.campaign.>", False),  # misses campaign.a.b
        ("campaign.>", "p.campaign.>", False),
        ("p.campaign.>", "p.campaign.created", True),
        ("p.campaign", "p.campaign.>", False),
        ("p.campaign.created", "p.campaign.>", False),
    ],
)
def test_subject_covers_follows_nats_wildcards(pattern: str, subjects: str, covered: bool) -> None:
    assert subject_covers(pattern, subjects) is covered


@pytest.mark.nats
async def test_a_stream_of_that_name_with_other_subjects_gets_ours_added(
    shared_stream: tuple[str, StreamNames],
) -> None:
    url, names = shared_stream
    theirs = f"{names.prefix}other.>"
    async with connection(url) as nc:
        await nc.jetstream().add_stream(StreamConfig(name=names.stream, subjects=[theirs]))
    publisher = publisher_for(url, names)
    try:
        await publisher.publish([event(1)])
    finally:
        await publisher.close()

    async with connection(url) as nc:
        info = await nc.jetstream().stream_info(names.stream)
    assert info.config.subjects == [theirs, publisher.stream_subject]
    await assert_stream_holds(url, names, {"evt-1"})


@pytest.mark.nats
async def test_a_stream_that_already_captures_our_subjects_is_left_as_it_is(
    shared_stream: tuple[str, StreamNames],
) -> None:
    url, names = shared_stream
    async with connection(url) as nc:
        await nc.jetstream().add_stream(
            StreamConfig(name=names.stream, subjects=[names.subjects], duplicate_window=60)
        )
    publisher = publisher_for(url, names)
    try:
        await publisher.publish([event(1)])
    finally:
        await publisher.close()

    async with connection(url) as nc:
        info = await nc.jetstream().stream_info(names.stream)
    assert (info.config.subjects, info.config.duplicate_window) == ([names.subjects], 60)


@pytest.mark.nats
async def test_a_deleted_stream_is_made_again(shared_stream: tuple[str, StreamNames]) -> None:
    url, names = shared_stream
    publisher = publisher_for(url, names)
    try:
        await publisher.publish([event(1)])
        async with connection(url) as nc:
            await nc.jetstream().delete_stream(names.stream)

        await publish_when_possible(publisher, [event(2)])
    finally:
        await publisher.close()

    await assert_stream_holds(url, names, {"evt-2"})


@pytest.mark.nats
async def test_publishers_racing_to_create_the_stream_all_get_their_events_in(
    shared_stream: tuple[str, StreamNames],
) -> None:
    url, names = shared_stream
    publishers = [publisher_for(url, names, timeout=5.0) for _ in range(4)]
    try:
        # One may still see "no responders" for a moment after another created the stream;
        # the relay retries such a batch like any other unavailability.
        await asyncio.gather(
            *(publish_when_possible(p, [event(n)]) for n, p in enumerate(publishers))
        )
    finally:
        for publisher in publishers:
            await publisher.close()

    await assert_stream_holds(url, names, {f"evt-{n}" for n in range(4)})


@pytest.mark.nats
async def test_a_closed_publisher_connects_again_when_used(
    shared_stream: tuple[str, StreamNames],
) -> None:
    url, names = shared_stream
    publisher = publisher_for(url, names)
    await publisher.close()  # never connected: nothing to do
    await publisher.publish([event(1)])
    await publisher.close()
    await publisher.close()

    try:
        await publisher.publish([event(2)])
    finally:
        await publisher.close()

    await assert_stream_holds(url, names, {"evt-1", "evt-2"})


async def test_publishing_with_no_server_fails_fast_as_dependency_unavailable() -> None:
    publisher = publisher_for(f"nats://127.0.0.1:{free_port()}", StreamNames.fresh())
    started = time.monotonic()

    try:
        async with asyncio.timeout(WAIT_SECONDS):
            with pytest.raises(DependencyUnavailableError, match="NATS unreachable"):
                await publisher.publish([event(1)])
    finally:
        await publisher.close()

    assert time.monotonic() - started < 3.0


async def test_the_same_publisher_recovers_after_the_server_restarts(
    private_nats: PrivateNatsServer,
) -> None:
    names = StreamNames.fresh()
    publisher = publisher_for(private_nats.url, names)
    try:
        await publisher.publish([event(1)])
        await private_nats.kill()

        started = time.monotonic()
        with pytest.raises(DependencyUnavailableError):
            await publisher.publish([event(2)])
        assert time.monotonic() - started < 3.0

        await private_nats.start()
        await publish_when_possible(publisher, [event(1), event(2), event(3)])
    finally:
        await publisher.close()

    await assert_stream_holds(private_nats.url, names, {"evt-1", "evt-2", "evt-3"})


async def test_a_stalled_server_times_out_as_dependency_unavailable(
    private_nats: PrivateNatsServer,
) -> None:
    names = StreamNames.fresh()
    publisher = publisher_for(private_nats.url, names, timeout=0.5)
    try:
        await publisher.publish([event(1)])
        private_nats.freeze()
        try:
            async with asyncio.timeout(WAIT_SECONDS):
                with pytest.raises(DependencyUnavailableError, match="publish failed"):
                    await publisher.publish([event(2)])
        finally:
            private_nats.thaw()

        await publish_when_possible(publisher, [event(2), event(3)])
    finally:
        await publisher.close()

    await assert_stream_holds(private_nats.url, names, {"evt-1", "evt-2", "evt-3"})


@pytest.mark.parametrize("fault", ["killed", "frozen"])
async def test_close_is_prompt_and_quiet_when_the_server_is_gone(
    private_nats: PrivateNatsServer, fault: str
) -> None:
    publisher = publisher_for(private_nats.url, StreamNames.fresh())
    await publisher.publish([event(1)])
    if fault == "killed":
        await private_nats.kill()
    else:
        private_nats.freeze()

    started = time.monotonic()
    async with asyncio.timeout(WAIT_SECONDS):
        await publisher.close()

    assert time.monotonic() - started < CLOSE_TIMEOUT_SECONDS + 1
