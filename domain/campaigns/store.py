"""Loading and saving the campaign aggregate, written once for every use case that does either.

Loading is scoped to an organization and answers CAMPAIGN_NOT_FOUND for a campaign that is
missing or another tenant's (the two look the same on purpose). Saving is conditional on the
version the campaign was loaded at, and writes the events its changes recorded to the outbox of
the same transaction.
"""

from __future__ import annotations

from collections.abc import Sequence

from domain.campaigns.campaign import Campaign
from domain.campaigns.ports import CampaignRepository, UnitOfWork, UnitOfWorkFactory
from domain.kernel.errors import CampaignNotFoundError, required
from domain.kernel.events import DomainEvent
from domain.kernel.outbox import record
from domain.kernel.ports import Clock, IdGenerator


async def load_campaign(
    campaigns: CampaignRepository, organization_id: str, campaign_id: str
) -> Campaign:
    """The organization's campaign; INVALID_ARGUMENT without an id, CAMPAIGN_NOT_FOUND if none."""
    found = await campaigns.get(organization_id, required("campaign_id", campaign_id))
    if found is None:
        raise CampaignNotFoundError(campaign_id)
    return found


async def add_campaign(uow: UnitOfWork, campaign: Campaign, ids: IdGenerator, clock: Clock) -> None:
    """Insert a new campaign with the events it recorded (`campaign.created`)."""
    _, events = campaign.take_changes()
    await uow.campaigns.add(campaign)
    await record(uow.outbox, events, ids, clock)


class UnitOfWorkNewCampaigns:
    """NewCampaigns through a unit of work of its own for each campaign: the repository's
    insert and the outbox's, committed together."""

    def __init__(self, uow: UnitOfWorkFactory) -> None:
        self._uow = uow

    async def add(self, campaign: Campaign, events: Sequence[DomainEvent]) -> None:
        async with self._uow() as uow:
            await uow.campaigns.add(campaign)
            if events:
                await uow.outbox.add(events)
            await uow.commit()


async def save_campaign(
    uow: UnitOfWork, campaign: Campaign, ids: IdGenerator, clock: Clock
) -> None:
    """Write back a changed campaign if nobody changed it since it was loaded (StaleEtagError
    otherwise), with the events its changes recorded."""
    expected, events = campaign.take_changes()
    await uow.campaigns.save(campaign, expected_version=expected)
    await record(uow.outbox, events, ids, clock)
