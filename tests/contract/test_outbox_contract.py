"""Outbox and OutboxStore contract: events commit with their change, are relayed once, in order."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest

from adapters.system import UuidGenerator
from domain.campaigns.service import CampaignService
from domain.kernel.events import CAMPAIGN_CREATED, CAMPAIGN_UPDATED, DomainEvent
from domain.kernel.outbox_relay import relay_once
from domain.kernel.principal import Principal, Role
from tests.contract.builders import ORG, FixedClock, campaign, event, rich_spec
from tests.contract.conftest import Backend
from tests.contract.steps import pending, record


class RecordingPublisher:
    def __init__(self) -> None:
        self.published: list[DomainEvent] = []

    async def publish(self, events: Sequence[DomainEvent]) -> None:
        self.published.extend(events)


class RelayFailedError(Exception):
    pass


async def test_events_written_with_a_change_are_claimed_in_order(backend: Backend) -> None:
    events = [event(n) for n in range(1, 6)]
    async with backend.unit_of_work() as uow:
        await uow.campaigns.add(campaign("c-1"))
        await uow.outbox.add(events[:2])
        await uow.outbox.add(events[2:])
        await uow.commit()

    async with backend.outbox.claim(10) as batch:
        claimed = list(batch.events)

    assert claimed == events


async def test_a_claim_takes_at_most_limit_events_oldest_first(backend: Backend) -> None:
    await record(backend.unit_of_work, event(1), event(2))
    await record(backend.unit_of_work, event(3))

    async with backend.outbox.claim(2) as batch:
        first = [e.event_id for e in batch.events]
        await batch.mark_published()
    async with backend.outbox.claim(2) as batch:
        second = [e.event_id for e in batch.events]

    assert (first, second) == (["evt-0001", "evt-0002"], ["evt-0003"])


async def test_published_events_are_not_claimed_again(backend: Backend) -> None:
    await record(backend.unit_of_work, event(1), event(2))
    async with backend.outbox.claim(10) as batch:
        await batch.mark_published()

    assert await pending(backend.outbox) == []


async def test_claimed_events_stay_pending_until_marked_published(backend: Backend) -> None:
    await record(backend.unit_of_work, event(1))
    async with backend.outbox.claim(10) as batch:
        assert len(batch.events) == 1

    assert [e.event_id for e in await pending(backend.outbox)] == ["evt-0001"]


async def test_events_stay_pending_when_publishing_fails(backend: Backend) -> None:
    await record(backend.unit_of_work, event(1))

    with pytest.raises(RelayFailedError):
        async with backend.outbox.claim(10):
            raise RelayFailedError

    assert [e.event_id for e in await pending(backend.outbox)] == ["evt-0001"]


async def test_marking_is_undone_when_the_claim_block_raises(backend: Backend) -> None:
    transactional_claims = backend
    await record(transactional_claims.unit_of_work, event(1))

    async def relay_that_fails_after_marking() -> None:
        async with transactional_claims.outbox.claim(10) as batch:
            await batch.mark_published()
            raise RelayFailedError

    with pytest.raises(RelayFailedError):
        await relay_that_fails_after_marking()

    assert [e.event_id for e in await pending(transactional_claims.outbox)] == ["evt-0001"]


async def test_an_empty_outbox_yields_an_empty_batch(backend: Backend) -> None:
    async with backend.outbox.claim(10) as batch:
        await batch.mark_published()

        assert list(batch.events) == []


async def test_relay_publishes_each_event_once(backend: Backend) -> None:
    await record(backend.unit_of_work, event(1), event(2))
    publisher = RecordingPublisher()

    counts = [await relay_once(backend.outbox, publisher) for _ in range(2)]

    assert counts == [2, 0]
    assert [e.event_id for e in publisher.published] == ["evt-0001", "evt-0002"]


async def test_use_cases_record_their_events_with_the_change(backend: Backend) -> None:
    service = CampaignService(backend.unit_of_work, FixedClock(), UuidGenerator())
    admin = Principal(ORG, "alice", frozenset({Role.ADMIN}))

    created = await service.create_campaign(admin, rich_spec())
    await service.update_campaign(
        admin, created.campaign_id, rich_spec("Renamed"), frozenset({"name"})
    )

    events = await pending(backend.outbox)
    assert [e.event_type for e in events] == [CAMPAIGN_CREATED, CAMPAIGN_UPDATED]
    assert {e.data["campaign_id"] for e in events} == {created.campaign_id}
    assert events[1].data["changed_fields"] == ["name"]


@pytest.mark.postgres
async def test_concurrent_claims_get_disjoint_events(postgres_backend: Backend) -> None:
    await record(postgres_backend.unit_of_work, *(event(n) for n in range(1, 6)))

    async with (
        asyncio.timeout(10),  # without SKIP LOCKED the second claim would wait for the first
        postgres_backend.outbox.claim(2) as first,
        postgres_backend.outbox.claim(2) as second,
    ):
        claimed = [[e.event_id for e in batch.events] for batch in (first, second)]
        await first.mark_published()
        await second.mark_published()

    assert claimed == [["evt-0001", "evt-0002"], ["evt-0003", "evt-0004"]]
    assert [e.event_id for e in await pending(postgres_backend.outbox)] == ["evt-0005"]
