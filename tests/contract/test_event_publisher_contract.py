"""EventPublisher contract: each event reaches subscribers once, as the wire envelope
(docs/events.md), in order.

One suite for the in-process bus (embedded default) and for JetStream (the shared server, with a
stream and subject prefix of this test's own). A bus is observed the way its subscribers see it:
the queue of a local subscriber, or a JetStream consumer reading the stream.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Protocol

import orjson
import pytest

from adapters.embedded.bus import InProcessEventBus
from adapters.nats.publisher import NatsEventPublisher
from domain.kernel.events import CAMPAIGN_CREATED, CAMPAIGN_PAUSED, CAMPAIGN_UPDATED, DomainEvent
from domain.kernel.ports import EventPublisher
from tests.contract.builders import ORG, OTHER_ORG, T0
from tests.integration.nats_support import (
    JetStreamReader,
    Received,
    StreamNames,
    connection,
    delete_stream,
    shared_nats_url,
    stream_message_count,
)

WAIT_SECONDS = 10.0


class ObservedBus(Protocol):
    """A publisher plus a way to see what its subscribers receive."""

    @property
    def publisher(self) -> EventPublisher: ...

    @property
    def prefix(self) -> str: ...

    async def take(self, count: int) -> list[Received]:
        """The next `count` deliveries; fails when they do not arrive in time."""

    async def take_all(self) -> list[Received]:
        """Whatever else has been delivered by now."""

    async def stored(self) -> int:
        """How many distinct messages the bus has accepted so far."""


class ObservedMemoryBus:
    def __init__(self) -> None:
        self.publisher = InProcessEventBus()
        self.prefix = ""  # the in-process bus publishes on the bare event type
        self._queue = self.publisher.subscribe()
        self._delivered = 0

    async def take(self, count: int) -> list[Received]:
        return [
            self._received(await asyncio.wait_for(self._queue.get(), WAIT_SECONDS))
            for _ in range(count)
        ]

    async def take_all(self) -> list[Received]:
        await asyncio.sleep(0)  # delivery is synchronous, but give a wrongly async one a chance
        taken = []
        while not self._queue.empty():
            taken.append(self._received(self._queue.get_nowait()))
        return taken

    async def stored(self) -> int:
        return self._delivered

    def _received(self, event: DomainEvent) -> Received:
        self._delivered += 1
        # What a subscriber gets is the event itself; compare its wire shape, as JSON.
        envelope = orjson.loads(orjson.dumps(event.envelope()))
        return Received(event.event_type, event.event_id, envelope)


@dataclass
class ObservedJetStream:
    publisher: NatsEventPublisher
    prefix: str
    reader: JetStreamReader
    names: StreamNames

    async def take(self, count: int) -> list[Received]:
        return await self.reader.take(count, within=WAIT_SECONDS)

    async def take_all(self) -> list[Received]:
        return await self.reader.take_all(quiet=0.3)

    async def stored(self) -> int:
        return await stream_message_count(self.reader.js, self.names.stream)


@pytest.fixture(params=["memory", pytest.param("nats", marks=pytest.mark.nats)])
async def bus(request: pytest.FixtureRequest) -> AsyncIterator[ObservedBus]:
    if request.param == "memory":
        yield ObservedMemoryBus()
        return
    url, names = shared_nats_url(), StreamNames.fresh()
    publisher = NatsEventPublisher(url, stream=names.stream, subject_prefix=names.prefix)
    try:
        async with connection(url) as nc:
            reader = JetStreamReader(nc.jetstream(timeout=5), names)
            yield ObservedJetStream(publisher, names.prefix, reader, names)
    finally:
        await publisher.close()
        await delete_stream(url, names.stream)


def event(
    number: int, event_type: str = CAMPAIGN_UPDATED, organization_id: str = ORG
) -> DomainEvent:
    return DomainEvent(
        event_id=f"evt-{number:04d}",
        event_type=event_type,
        organization_id=organization_id,
        occurred_at=T0 + timedelta(seconds=number, microseconds=7),
        data={"campaign_id": f"c-{number}", "changed_fields": ["name"], "note": "ünïcode ✓"},
    )


def ids(received: Sequence[Received]) -> list[str]:
    return [r.envelope["event_id"] for r in received]


async def test_each_event_is_delivered_once_as_the_api_envelope(bus: ObservedBus) -> None:
    events = [event(1, CAMPAIGN_CREATED), event(2), event(3, CAMPAIGN_PAUSED, OTHER_ORG)]

    await bus.publisher.publish(events)
    received = await bus.take(3)

    assert sorted(ids(received)) == ["evt-0001", "evt-0002", "evt-0003"]
    by_id = {r.envelope["event_id"]: r for r in received}
    for sent in events:
        got = by_id[sent.event_id]
        assert got.envelope == {
            "event_id": sent.event_id,
            "event_type": sent.event_type,
            "source": "campaign_service",
            "organization_id": sent.organization_id,
            "occurred_at": sent.occurred_at.isoformat(),
            "data": sent.data,
        }
        assert got.subject == bus.prefix + sent.event_type
        assert got.message_id == sent.event_id  # Nats-Msg-Id on JetStream
    assert await bus.take_all() == []
    assert await bus.stored() == 3


async def test_publishing_the_same_event_ids_again_delivers_nothing_new(bus: ObservedBus) -> None:
    first = [event(n) for n in range(1, 4)]
    await bus.publisher.publish(first)
    await bus.take(3)

    # A relay that died before marking its batch publishes it again, then the next event.
    await bus.publisher.publish(first)
    await bus.publisher.publish([*first, event(4)])
    # Delivery is ordered, so repeats would have come before the new event.
    assert ids(await bus.take(1)) == ["evt-0004"]
    assert await bus.take_all() == []
    assert await bus.stored() == 4


async def test_a_repeat_is_dropped_by_event_id_even_when_its_content_differs(
    bus: ObservedBus,
) -> None:
    original = event(1)
    await bus.publisher.publish([original])
    await bus.take(1)

    retried = DomainEvent(
        original.event_id, original.event_type, ORG, original.occurred_at, {"changed": True}
    )
    await bus.publisher.publish([retried, event(2)])

    assert ids(await bus.take(1)) == ["evt-0002"]
    assert await bus.stored() == 2


async def test_order_within_a_batch_is_kept_per_subject(bus: ObservedBus) -> None:
    kinds = (CAMPAIGN_CREATED, CAMPAIGN_UPDATED, CAMPAIGN_PAUSED)
    events = [event(n, kinds[n % 3]) for n in range(1, 301)]

    await bus.publisher.publish(events)
    received = await bus.take(len(events))

    for kind in kinds:
        subject = bus.prefix + kind
        sent = [e.event_id for e in events if e.event_type == kind]
        assert [r.envelope["event_id"] for r in received if r.subject == subject] == sent
    assert await bus.take_all() == []


async def test_batches_are_delivered_in_the_order_they_were_published(bus: ObservedBus) -> None:
    for start in (1, 11, 21):
        await bus.publisher.publish([event(n) for n in range(start, start + 10)])

    assert ids(await bus.take(30)) == [f"evt-{n:04d}" for n in range(1, 31)]


async def test_an_empty_batch_publishes_nothing(bus: ObservedBus) -> None:
    await bus.publisher.publish([])
    await bus.publisher.publish([event(1)])

    assert ids(await bus.take(1)) == ["evt-0001"]
    assert await bus.take_all() == []
