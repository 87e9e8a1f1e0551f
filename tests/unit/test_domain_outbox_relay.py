"""The outbox relay: committed events reach the bus at least once, and a failed publish loses
nothing."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import pytest

from adapters.memory.campaigns import MemoryStore
from domain.kernel.events import DomainEvent
from domain.kernel.outbox_relay import relay_once

AT = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


class RecordingPublisher:
    def __init__(self) -> None:
        self.batches: list[list[DomainEvent]] = []

    async def publish(self, events: Sequence[DomainEvent]) -> None:
        self.batches.append(list(events))


class BrokenPublisher:
    def __init__(self) -> None:
        self.attempts = 0

    async def publish(self, events: Sequence[DomainEvent]) -> None:
        self.attempts += 1
        raise ConnectionError("bus unavailable")


def event(n: int) -> DomainEvent:
    return DomainEvent(f"evt-{n}", "campaign.created", "org-1", AT, {"campaign_id": f"cmp-{n}"})


async def commit_events(store: MemoryStore, *batch: DomainEvent) -> None:
    uow = store.unit_of_work()
    async with uow:
        await uow.outbox.add(batch)
        await uow.commit()


def pending_ids(store: MemoryStore) -> list[str]:
    return [e.event_id for _, e, published in store.state.outbox if not published]


@pytest.fixture
def store() -> MemoryStore:
    return MemoryStore()


async def test_relay_publishes_pending_events_in_order_and_marks_them(store: MemoryStore) -> None:
    await commit_events(store, event(1), event(2), event(3))
    publisher = RecordingPublisher()

    published = await relay_once(store, publisher)

    assert published == 3
    assert [[e.event_id for e in b] for b in publisher.batches] == [["evt-1", "evt-2", "evt-3"]]
    assert pending_ids(store) == []


async def test_relay_publishes_each_event_once(store: MemoryStore) -> None:
    await commit_events(store, event(1))
    publisher = RecordingPublisher()
    await relay_once(store, publisher)

    again = await relay_once(store, publisher)

    assert again == 0
    assert len(publisher.batches) == 1


async def test_relay_with_nothing_pending_does_not_call_the_publisher(store: MemoryStore) -> None:
    publisher = RecordingPublisher()

    assert await relay_once(store, publisher) == 0
    assert publisher.batches == []


async def test_relay_takes_at_most_limit_events_per_batch(store: MemoryStore) -> None:
    await commit_events(store, event(1), event(2), event(3))
    publisher = RecordingPublisher()

    counts = [await relay_once(store, publisher, limit=2) for _ in range(3)]

    assert counts == [2, 1, 0]
    assert [[e.event_id for e in b] for b in publisher.batches] == [["evt-1", "evt-2"], ["evt-3"]]


async def test_events_stay_pending_when_the_publisher_fails(store: MemoryStore) -> None:
    await commit_events(store, event(1), event(2))
    broken = BrokenPublisher()

    with pytest.raises(ConnectionError):
        await relay_once(store, broken)

    assert broken.attempts == 1
    assert pending_ids(store) == ["evt-1", "evt-2"]


async def test_events_left_by_a_failed_publish_go_out_on_the_next_call(store: MemoryStore) -> None:
    await commit_events(store, event(1), event(2))
    with pytest.raises(ConnectionError):
        await relay_once(store, BrokenPublisher())
    publisher = RecordingPublisher()

    published = await relay_once(store, publisher)

    assert published == 2
    assert [[e.event_id for e in b] for b in publisher.batches] == [["evt-1", "evt-2"]]
    assert pending_ids(store) == []


async def test_events_committed_after_a_batch_wait_for_the_next_one(store: MemoryStore) -> None:
    await commit_events(store, event(1))
    publisher = RecordingPublisher()
    await relay_once(store, publisher)
    await commit_events(store, event(2))

    await relay_once(store, publisher)

    assert [[e.event_id for e in b] for b in publisher.batches] == [["evt-1"], ["evt-2"]]


async def test_uncommitted_events_are_never_relayed(store: MemoryStore) -> None:
    uow = store.unit_of_work()
    async with uow:
        await uow.outbox.add([event(1)])
    publisher = RecordingPublisher()

    assert await relay_once(store, publisher) == 0
    assert publisher.batches == []
