"""In-process campaign store: a real implementation of the repository and unit-of-work ports.

A unit of work stages its writes and applies them at commit, re-checking versions and request
ids against what others committed meanwhile, so it behaves like the SQL adapter: nothing is
visible before commit, nothing survives a missing commit, and a lost update is a StaleEtagError.
Used by unit tests and checked by the same contract suite as the SQL adapter.
"""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import TracebackType

from domain.campaigns.campaign import WINNER_PENDING_STATUSES, Campaign
from domain.campaigns.listing import NO_SORT_VALUE, CampaignPage, CampaignQuery, Cursor
from domain.campaigns.model import CampaignStatus
from domain.kernel.errors import DuplicateRequestError, StaleEtagError
from domain.kernel.events import DomainEvent


@dataclass
class MemoryState:
    campaigns: dict[str, Campaign] = field(default_factory=dict)
    outbox: list[tuple[int, DomainEvent, bool]] = field(default_factory=list)
    next_seq: int = 1


@dataclass
class _Changes:
    """What one unit of work intends to write; `None` marks a deletion."""

    written: dict[str, Campaign | None] = field(default_factory=dict)
    expected_versions: dict[str, int] = field(default_factory=dict)
    added: set[str] = field(default_factory=set)
    events: list[DomainEvent] = field(default_factory=list)


class MemoryCampaignRepository:
    def __init__(self, state: MemoryState, changes: _Changes) -> None:
        self._state = state
        self._changes = changes

    def _visible(self) -> dict[str, Campaign]:
        merged = dict(self._state.campaigns)
        for campaign_id, campaign in self._changes.written.items():
            if campaign is None:
                merged.pop(campaign_id, None)
            else:
                merged[campaign_id] = campaign
        return merged

    async def get(self, organization_id: str, campaign_id: str) -> Campaign | None:
        found = self._visible().get(campaign_id)
        if found is None or found.organization_id != organization_id:
            return None
        return copy.deepcopy(found)

    async def get_by_request_id(self, organization_id: str, request_id: str) -> Campaign | None:
        for campaign in self._visible().values():
            if campaign.organization_id == organization_id and campaign.request_id == request_id:
                return copy.deepcopy(campaign)
        return None

    async def names_starting_with(self, organization_id: str, prefix: str) -> set[str]:
        return {
            c.spec.name
            for c in self._visible().values()
            if c.organization_id == organization_id and c.spec.name.startswith(prefix)
        }

    async def add(self, campaign: Campaign) -> None:
        if campaign.request_id and await self.get_by_request_id(
            campaign.organization_id, campaign.request_id
        ):
            raise DuplicateRequestError("request_id already used")
        self._changes.written[campaign.campaign_id] = copy.deepcopy(campaign)
        self._changes.added.add(campaign.campaign_id)

    async def save(self, campaign: Campaign, *, expected_version: int) -> None:
        stored = self._visible().get(campaign.campaign_id)
        if (
            stored is None
            or stored.organization_id != campaign.organization_id
            or stored.version != expected_version
        ):
            raise StaleEtagError("the campaign changed concurrently")
        self._changes.expected_versions.setdefault(campaign.campaign_id, expected_version)
        self._changes.written[campaign.campaign_id] = copy.deepcopy(campaign)

    async def delete(self, organization_id: str, campaign_id: str) -> bool:
        if await self.get(organization_id, campaign_id) is None:
            return False
        self._changes.written[campaign_id] = None
        return True

    async def due(self, now: datetime, limit: int) -> Sequence[Campaign]:
        found = [
            c
            for c in self._visible().values()
            if c.status is CampaignStatus.SCHEDULED
            and c.next_run_at is not None
            and c.next_run_at <= now
        ]
        found.sort(key=lambda c: (c.next_run_at or now, c.campaign_id))
        return [copy.deepcopy(c) for c in found[:limit]]

    async def winner_pending(self, after_campaign_id: str, limit: int) -> Sequence[Campaign]:
        found = sorted(
            (
                c
                for c in self._visible().values()
                if c.campaign_id > after_campaign_id
                and not c.winner_variant_id
                and c.status in WINNER_PENDING_STATUSES
            ),
            key=lambda c: c.campaign_id,
        )
        return [copy.deepcopy(c) for c in found[:limit]]

    async def list(self, organization_id: str, query: CampaignQuery) -> CampaignPage:
        matching = [
            c
            for c in self._visible().values()
            if c.organization_id == organization_id and _matches(c, query)
        ]
        key, desc = query.ordering.key, query.ordering.descending
        matching.sort(key=lambda c: (_sort_value(c, key), c.campaign_id), reverse=desc)
        # Rows without a sort value (no next run) come last in either direction.
        matching.sort(key=lambda c: _sort_value(c, key) == NO_SORT_VALUE)
        total = len(matching)
        if query.after is not None:
            after = (query.after.sort_value, query.after.campaign_id)
            matching = [
                c for c in matching if _follows((_sort_value(c, key), c.campaign_id), after, desc)
            ]
        page = matching[: query.page_size]
        more = len(matching) > query.page_size
        last = page[-1] if page and more else None
        cursor = Cursor(_sort_value(last, key), last.campaign_id) if last else None
        return CampaignPage([copy.deepcopy(c) for c in page], cursor, total)


def _sort_value(campaign: Campaign, key: str) -> str:
    if key == "name":
        return campaign.spec.name
    if key == "scheduled_at":
        moment = campaign.next_run_at
        return NO_SORT_VALUE if moment is None else moment.astimezone(UTC).isoformat()
    moment = campaign.updated_at if key == "updated_at" else campaign.created_at
    return moment.astimezone(UTC).isoformat()  # one offset, so text order is time order


def _follows(position: tuple[str, str], after: tuple[str, str], desc: bool) -> bool:
    """Whether `position` comes after `after` in the listing's order (no sort value: last)."""
    missing, missing_after = position[0] == NO_SORT_VALUE, after[0] == NO_SORT_VALUE
    if missing != missing_after:
        return missing
    return position < after if desc else position > after


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
    def __init__(self, changes: _Changes) -> None:
        self._changes = changes

    async def add(self, events: Sequence[DomainEvent]) -> None:
        self._changes.events.extend(events)


class MemoryRunProgress:
    """The in-memory store keeps campaigns only: no run has sent anything."""

    async def messages_sent(self, organization_id: str, campaign_id: str) -> int:
        return 0

    async def cancel_triggered(
        self, organization_id: str, campaign_id: str, reason: str, at: datetime
    ) -> int:
        return 0


class MemoryUnitOfWork:
    def __init__(self, store: MemoryStore) -> None:
        self._store = store
        self._begin()

    def _begin(self) -> None:
        self._changes = _Changes()
        self._campaigns = MemoryCampaignRepository(self._store.state, self._changes)
        self._outbox = MemoryOutbox(self._changes)

    @property
    def campaigns(self) -> MemoryCampaignRepository:
        return self._campaigns

    @property
    def outbox(self) -> MemoryOutbox:
        return self._outbox

    @property
    def runs(self) -> MemoryRunProgress:
        return MemoryRunProgress()

    async def commit(self) -> None:
        self._store.apply(self._changes)
        self._begin()

    async def __aenter__(self) -> MemoryUnitOfWork:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._begin()  # whatever was not committed is dropped


@dataclass
class MemoryBatch:
    events: Sequence[DomainEvent]
    seqs: frozenset[int]
    published: bool = False

    async def mark_published(self) -> None:
        self.published = True  # applied when the claim block ends without an error


class MemoryStore:
    """Owns the committed state; `unit_of_work` is the UnitOfWorkFactory port."""

    def __init__(self) -> None:
        self.state = MemoryState()

    def unit_of_work(self, *, read_only: bool = False) -> MemoryUnitOfWork:
        return MemoryUnitOfWork(self)

    def apply(self, changes: _Changes) -> None:
        """Commit atomically (no await inside), refusing what others changed meanwhile."""
        campaigns = self.state.campaigns
        for campaign_id, expected in changes.expected_versions.items():
            current = campaigns.get(campaign_id)
            if current is None or current.version != expected:
                raise StaleEtagError("the campaign changed concurrently")
        for campaign_id in changes.added:
            added = changes.written.get(campaign_id)
            taken = campaign_id in campaigns or (
                added is not None
                and added.request_id is not None
                and any(
                    c.organization_id == added.organization_id and c.request_id == added.request_id
                    for c in campaigns.values()
                )
            )
            if taken:
                raise DuplicateRequestError("request_id already used")
        for campaign_id, campaign in changes.written.items():
            if campaign is None:
                campaigns.pop(campaign_id, None)
            else:
                campaigns[campaign_id] = campaign
        for event in changes.events:
            self.state.outbox.append((self.state.next_seq, event, False))
            self.state.next_seq += 1

    @asynccontextmanager
    async def claim(self, limit: int) -> AsyncIterator[MemoryBatch]:
        pending = [(seq, e) for seq, e, published in self.state.outbox if not published][:limit]
        batch = MemoryBatch([e for _, e in pending], frozenset(s for s, _ in pending))
        yield batch
        if batch.published:
            self.state.outbox = [
                (seq, event, published or seq in batch.seqs)
                for seq, event, published in self.state.outbox
            ]
