"""In-process campaign store: a real implementation of the repository and unit-of-work ports.

Transactions copy-on-write the whole store, so a unit of work that is not committed leaves no
trace, exactly like the SQL adapter. Used by unit tests and checked by the same contract suite.
"""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from types import TracebackType

from domain.campaign import Campaign
from domain.errors import DuplicateRequestError, StaleEtagError
from domain.events import DomainEvent
from domain.listing import CampaignPage, CampaignQuery, Cursor


@dataclass
class MemoryState:
    campaigns: dict[str, Campaign] = field(default_factory=dict)
    outbox: list[tuple[int, DomainEvent, bool]] = field(default_factory=list)
    next_seq: int = 1


class MemoryCampaignRepository:
    def __init__(self, state: MemoryState) -> None:
        self._state = state

    async def get(self, organization_id: str, campaign_id: str) -> Campaign | None:
        found = self._state.campaigns.get(campaign_id)
        if found is None or found.organization_id != organization_id:
            return None
        return copy.deepcopy(found)

    async def get_by_request_id(self, organization_id: str, request_id: str) -> Campaign | None:
        for campaign in self._state.campaigns.values():
            if campaign.organization_id == organization_id and campaign.request_id == request_id:
                return copy.deepcopy(campaign)
        return None

    async def add(self, campaign: Campaign) -> None:
        if campaign.request_id and await self.get_by_request_id(
            campaign.organization_id, campaign.request_id
        ):
            raise DuplicateRequestError("request_id already used")
        self._state.campaigns[campaign.campaign_id] = copy.deepcopy(campaign)

    async def save(self, campaign: Campaign, *, expected_version: int) -> None:
        stored = self._state.campaigns.get(campaign.campaign_id)
        if (
            stored is None
            or stored.organization_id != campaign.organization_id
            or stored.version != expected_version
        ):
            raise StaleEtagError("the campaign changed concurrently")
        self._state.campaigns[campaign.campaign_id] = copy.deepcopy(campaign)

    async def delete(self, organization_id: str, campaign_id: str) -> bool:
        if await self.get(organization_id, campaign_id) is None:
            return False
        del self._state.campaigns[campaign_id]
        return True

    async def list(self, organization_id: str, query: CampaignQuery) -> CampaignPage:
        matching = [
            c
            for c in self._state.campaigns.values()
            if c.organization_id == organization_id and _matches(c, query)
        ]
        key, desc = query.ordering.key, query.ordering.descending
        matching.sort(key=lambda c: (_sort_value(c, key), c.campaign_id), reverse=desc)
        total = len(matching)
        if query.after is not None:
            after = (query.after.sort_value, query.after.campaign_id)
            matching = [
                c
                for c in matching
                if ((_sort_value(c, key), c.campaign_id) < after) == desc
                and (_sort_value(c, key), c.campaign_id) != after
            ]
        page = matching[: query.page_size]
        more = len(matching) > query.page_size
        last = page[-1] if page and more else None
        cursor = Cursor(_sort_value(last, key), last.campaign_id) if last else None
        return CampaignPage([copy.deepcopy(c) for c in page], cursor, total)


def _sort_value(campaign: Campaign, key: str) -> str:
    if key == "name":
        return campaign.spec.name
    moment = campaign.updated_at if key == "updated_at" else campaign.created_at
    return moment.isoformat()


def _matches(c: Campaign, query: CampaignQuery) -> bool:
    f = query.filter
    channels = {content.channel for content in c.spec.channels}
    channels |= {content.channel for v in c.spec.variants for content in v.channels}
    scheduled = c.next_run_at
    checks = (
        not f.statuses or c.status in f.statuses,
        f.campaign_type is None or c.spec.campaign_type is f.campaign_type,
        f.channel is None or f.channel in channels,
        c.spec.name.lower().startswith(f.name_prefix.lower()),
        set(f.tags) <= set(c.spec.tags),
        f.created_after is None or c.created_at >= f.created_after,
        f.created_before is None or c.created_at < f.created_before,
        f.scheduled_after is None or (scheduled is not None and scheduled >= f.scheduled_after),
        f.scheduled_before is None or (scheduled is not None and scheduled < f.scheduled_before),
    )
    return all(checks)


class MemoryOutbox:
    def __init__(self, state: MemoryState) -> None:
        self._state = state

    async def add(self, events: Sequence[DomainEvent]) -> None:
        for event in events:
            self._state.outbox.append((self._state.next_seq, event, False))
            self._state.next_seq += 1


class MemoryUnitOfWork:
    def __init__(self, store: MemoryStore) -> None:
        self._store = store
        self._working = copy.deepcopy(store.state)
        self._campaigns = MemoryCampaignRepository(self._working)
        self._outbox = MemoryOutbox(self._working)

    @property
    def campaigns(self) -> MemoryCampaignRepository:
        return self._campaigns

    @property
    def outbox(self) -> MemoryOutbox:
        return self._outbox

    async def commit(self) -> None:
        self._store.state = self._working
        self._working = copy.deepcopy(self._working)
        self._campaigns = MemoryCampaignRepository(self._working)
        self._outbox = MemoryOutbox(self._working)

    async def __aenter__(self) -> MemoryUnitOfWork:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        return None


@dataclass
class MemoryBatch:
    events: Sequence[DomainEvent]
    _store: MemoryStore
    _seqs: frozenset[int]

    async def mark_published(self) -> None:
        self._store.state.outbox = [
            (seq, event, published or seq in self._seqs)
            for seq, event, published in self._store.state.outbox
        ]


class MemoryStore:
    """Owns the committed state; `unit_of_work` is the UnitOfWorkFactory port."""

    def __init__(self) -> None:
        self.state = MemoryState()

    def unit_of_work(self) -> MemoryUnitOfWork:
        return MemoryUnitOfWork(self)

    @asynccontextmanager
    async def claim(self, limit: int) -> AsyncIterator[MemoryBatch]:
        pending = [(seq, e) for seq, e, published in self.state.outbox if not published][:limit]
        yield MemoryBatch([e for _, e in pending], self, frozenset(s for s, _ in pending))
