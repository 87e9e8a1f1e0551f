"""Ports of the campaigns context: the aggregate's repository and its unit of work."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from types import TracebackType
from typing import Protocol

from domain.campaigns.campaign import Campaign
from domain.campaigns.listing import CampaignPage, CampaignQuery
from domain.kernel.events import DomainEvent
from domain.kernel.ports import Outbox


class CampaignRepository(Protocol):
    """Campaign aggregates, always scoped by organization: another tenant's row does not exist."""

    async def get(self, organization_id: str, campaign_id: str) -> Campaign | None: ...

    async def get_by_request_id(self, organization_id: str, request_id: str) -> Campaign | None: ...

    async def add(self, campaign: Campaign) -> None:
        """Insert; raises DuplicateRequestError when the (organization, request_id) is taken."""

    async def names_starting_with(self, organization_id: str, prefix: str) -> set[str]:
        """The names of the organization's campaigns that start with `prefix`, case included.
        May hold other names too (a store whose LIKE ignores case), never fewer: callers
        compare exactly."""

    async def save(self, campaign: Campaign, *, expected_version: int) -> None:
        """Write back `campaign` (whose version the caller already advanced) if the stored
        version is still `expected_version`; StaleEtagError if someone else won."""

    async def delete(self, organization_id: str, campaign_id: str) -> bool: ...

    async def list(self, organization_id: str, query: CampaignQuery) -> CampaignPage: ...

    async def due(self, now: datetime, limit: int) -> Sequence[Campaign]:
        """Scheduled campaigns whose next run is due, across organizations (the scheduler is
        the system, not a tenant), locked so replicas ticking together split them."""

    async def winner_pending(self, after_campaign_id: str, limit: int) -> Sequence[Campaign]:
        """Up to `limit` campaigns, across organizations, in campaign_id order after
        `after_campaign_id`, that may still get an automatic A/B winner: no winner yet and a
        status in WINNER_PENDING_STATUSES. Whether automatic selection is on sits inside the
        definition, which the caller checks (`Campaign.awaits_auto_winner`): a page shorter
        than `limit` is the last one."""


class CampaignReads(Protocol):
    """Committed campaigns for the reads that need nothing else (GetCampaign, ListCampaigns).

    Separate from the unit of work so an adapter may serve these hot reads its own way (several
    callers' reads in one statement, a statement of its own: adapters/sql/campaigns/reads.py);
    every answer is scoped to `organization_id` like every read of the repository, and every
    campaign returned is a campaign of its own."""

    async def campaign(self, organization_id: str, campaign_id: str) -> Campaign | None: ...

    async def page(self, organization_id: str, query: CampaignQuery) -> CampaignPage:
        """What CampaignRepository.list answers for the same query."""


class NewCampaigns(Protocol):
    """Where a created campaign is stored with the events it recorded, in one transaction.

    Separate from the unit of work so an adapter may write them its own way (one statement on
    Postgres: adapters/sql/campaigns/inserts.py); a create reads nothing before it writes."""

    async def add(self, campaign: Campaign, events: Sequence[DomainEvent]) -> None:
        """Store both or neither; DuplicateRequestError when the campaign's (organization,
        request_id) is taken."""


class RunProgress(Protocol):
    """What a campaign's lifecycle reads of its runs (and its trigger messages), which the
    execution context keeps."""

    async def messages_sent(self, organization_id: str, campaign_id: str) -> int:
        """Messages the campaign's unfinished runs have handed to delivery so far (what
        `campaign.paused` reports)."""

    async def cancel_triggered(
        self, organization_id: str, campaign_id: str, reason: str, at: datetime
    ) -> int:
        """Cancel, in the caller's transaction, the triggered campaign's messages not handed
        over yet (queued, deferred, held), with `reason`; how many were."""


class UnitOfWork(Protocol):
    """One transaction. Leaving the block without `commit()` rolls everything back."""

    @property
    def campaigns(self) -> CampaignRepository: ...

    @property
    def runs(self) -> RunProgress: ...

    @property
    def outbox(self) -> Outbox: ...

    async def commit(self) -> None: ...

    async def __aenter__(self) -> UnitOfWork: ...

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...


class UnitOfWorkFactory(Protocol):
    def __call__(self, *, read_only: bool = False) -> UnitOfWork:
        """`read_only` promises no writes, so an adapter may skip the transaction around it
        (on Postgres that saves the BEGIN and ROLLBACK round trips of every read RPC)."""


class HostResolver(Protocol):
    """DNS for webhook destinations (domain.campaigns.webhooks): the addresses a host name
    resolves to, so a name pointing at a private or metadata address is refused."""

    async def resolve(self, host: str) -> Sequence[str]:
        """The host's IP addresses as text; empty when it does not resolve (or not in time)."""
