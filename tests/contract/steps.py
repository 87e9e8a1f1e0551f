"""Arrange and assert steps shared by the contract tests, each in its own committed transaction."""

from __future__ import annotations

from collections.abc import Sequence

from domain.campaigns.campaign import Campaign
from domain.campaigns.listing import CampaignPage, CampaignQuery
from domain.campaigns.ports import UnitOfWorkFactory
from domain.kernel.events import DomainEvent
from domain.kernel.ports import OutboxStore


async def store(uow_factory: UnitOfWorkFactory, *campaigns: Campaign) -> None:
    async with uow_factory() as uow:
        for item in campaigns:
            await uow.campaigns.add(item)
        await uow.commit()


async def record(uow_factory: UnitOfWorkFactory, *events: DomainEvent) -> None:
    async with uow_factory() as uow:
        await uow.outbox.add(events)
        await uow.commit()


async def load(
    uow_factory: UnitOfWorkFactory, organization_id: str, campaign_id: str
) -> Campaign | None:
    async with uow_factory() as uow:
        return await uow.campaigns.get(organization_id, campaign_id)


async def list_page(
    uow_factory: UnitOfWorkFactory, organization_id: str, query: CampaignQuery
) -> CampaignPage:
    async with uow_factory() as uow:
        return await uow.campaigns.list(organization_id, query)


async def pending(outbox: OutboxStore, limit: int = 100) -> Sequence[DomainEvent]:
    """What a relay would publish next, without publishing it."""
    async with outbox.claim(limit) as batch:
        return list(batch.events)
