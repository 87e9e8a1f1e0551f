"""Changes made through the real use cases, and relays that can be watched or made to die."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import pytest
from sqlalchemy import select

from adapters.sql.schema import outbox_events
from adapters.sql.unit_of_work import SqlStore
from adapters.system import SystemClock, UuidGenerator
from domain.campaigns.ports import UnitOfWorkFactory
from domain.campaigns.service import CampaignService
from domain.kernel.events import DomainEvent
from domain.kernel.ports import EventPublisher
from domain.kernel.principal import Principal, Role
from tests.contract.builders import ORG, rich_spec

ADMIN = Principal(ORG, "alice", frozenset({Role.ADMIN}))
LIFECYCLE = (
    "campaign.created",
    "campaign.updated",
    "campaign.activated",
    "campaign.paused",
    "campaign.resumed",
    "campaign.cancelled",
)


async def change_campaigns(uow: UnitOfWorkFactory, count: int) -> list[str]:
    """`count` campaigns taken through their whole LIFECYCLE; returns their ids."""
    service = CampaignService(uow, SystemClock(), UuidGenerator())
    campaign_ids = []
    for number in range(count):
        created = await service.create_campaign(ADMIN, rich_spec(f"Campaign {number}"))
        cid = created.campaign_id
        await service.update_campaign(
            ADMIN, cid, rich_spec(f"Renamed {number}"), frozenset({"name"})
        )
        await service.activate_campaign(ADMIN, cid)
        await service.pause_campaign(ADMIN, cid)
        await service.resume_campaign(ADMIN, cid)
        await service.cancel_campaign(ADMIN, cid, reason="test")
        campaign_ids.append(cid)
    return campaign_ids


async def pending_ids(store: SqlStore) -> set[str]:
    """Event ids not yet published, read without claiming: a claim would skip (SKIP LOCKED)
    exactly the rows a running relay is busy with, and make a draining outbox look empty."""
    statement = select(outbox_events.c.event_id).where(outbox_events.c.published_at.is_(None))
    async with store.engine.connect() as connection:
        return set((await connection.execute(statement)).scalars())


async def recorded_ids(store: SqlStore) -> set[str]:
    """Every event id ever written to the outbox, published or not."""
    async with store.engine.connect() as connection:
        return set((await connection.execute(select(outbox_events.c.event_id))).scalars())


async def eventually(
    check: Callable[[], Awaitable[bool]], *, within: float, what: str, interval: float = 0.05
) -> None:
    """Wait until `check()` holds; fail the test after `within` seconds."""
    deadline = time.monotonic() + within
    while not await check():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {within} s waiting for {what}")
        await asyncio.sleep(interval)


class RelayDiedError(Exception):
    """Stands for the process dying: nothing after it runs (mark_published in particular)."""


class CountingPublisher:
    """Delegates, and remembers every event id it was asked to publish."""

    def __init__(self, inner: EventPublisher) -> None:
        self.inner = inner
        self.published: list[str] = []

    async def publish(self, events: Sequence[DomainEvent]) -> None:
        await self.inner.publish(events)
        self.published += [e.event_id for e in events]


class DyingPublisher:
    """Publishes normally `healthy_batches` times, then dies on the next batch in one of three ways.

    - "after_publishing": the whole batch reached the bus, the relay died before marking it;
    - "halfway": the first half reached the bus, the relay died in the middle of the batch;
    - "hangs": the batch reached the bus and the relay hangs until its task is cancelled.
    """

    def __init__(self, inner: EventPublisher, how: str, *, healthy_batches: int = 1) -> None:
        self.inner = inner
        self.how = how
        self.healthy = healthy_batches
        self.reached_the_bus: list[str] = []
        self.died = asyncio.Event()

    async def publish(self, events: Sequence[DomainEvent]) -> None:
        if self.healthy > 0:
            self.healthy -= 1
            await self.inner.publish(events)
            return
        if self.how == "halfway":
            events = events[: len(events) // 2]
        await self.inner.publish(events)
        self.reached_the_bus += [e.event_id for e in events]
        self.died.set()
        if self.how == "hangs":
            await asyncio.Event().wait()
        raise RelayDiedError


class RecordingLog:
    """Stands in for the worker's structlog logger, whatever structlog's configuration is."""

    def __init__(self) -> None:
        self.warnings: list[tuple[str, dict[str, Any]]] = []

    def warning(self, event: str, **fields: Any) -> None:
        self.warnings.append((event, fields))

    def info(self, event: str, **fields: Any) -> None:
        pass
