"""Live metric streams (StreamCampaignMetrics): a full snapshot, then an update whenever the
counters change, at most one per the stream's min_interval, and a final snapshot when the
campaign completes or is cancelled.

The hub keeps one Watcher per watched (organization, campaign, breakdowns), shared by every
stream of it (domain.metrics.watcher says why); a change signal from any replica
(MetricChangeFeed) wakes the campaign's watchers. Each stream runs in its own RPC's task and
holds nothing but a one-reading slot, so the hub adds one task per watched campaign and none
per subscriber, and a stream that ends (or whose client vanished) leaves nothing behind.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Callable
from dataclasses import dataclass

from domain.campaigns.model import CampaignStatus
from domain.campaigns.ports import UnitOfWorkFactory
from domain.kernel.errors import (
    CampaignNotFoundError,
    DependencyUnavailableError,
    QuotaExceededError,
)
from domain.kernel.principal import Principal
from domain.metrics.model import CampaignMetrics
from domain.metrics.ports import MetricChangeFeed, MetricLedger
from domain.metrics.stream_request import StreamRequest
from domain.metrics.watcher import Watcher, WatchKey, WatchTiming

# Streams one process serves at once: each costs a connection's buffers and a serialization
# per update; past this a client is told to come back (RESOURCE_EXHAUSTED) instead of slowing
# every other stream down.
MAX_STREAMS = 5_000
# Of them, one organization's: one tenant's dashboards cannot take every stream of a replica.
MAX_STREAMS_PER_ORGANIZATION = 1_000
SHUTTING_DOWN = "this server is shutting down; open the stream again (another replica answers)"


@dataclass(frozen=True, slots=True)
class LiveUpdate:
    metrics: CampaignMetrics
    status: CampaignStatus
    snapshot: bool  # the first update of the stream
    final: bool  # the campaign ended; the stream ends after this update


class LiveMetrics:
    def __init__(
        self,
        ledger: MetricLedger,
        campaigns: UnitOfWorkFactory,
        feed: MetricChangeFeed | None = None,
        *,
        timing: WatchTiming | None = None,
        max_streams: int = MAX_STREAMS,
        max_streams_per_organization: int = MAX_STREAMS_PER_ORGANIZATION,
        on_error: Callable[[Exception], None] = lambda _exc: None,
    ) -> None:
        """`on_error` hears of every failed read (a stream still waiting for its snapshot gets
        the error; the others wait for the next read)."""
        self._ledger = ledger
        self._campaigns = campaigns
        self._feed = feed
        self._timing = timing or WatchTiming()
        self._max_streams = max_streams
        self._max_per_organization = max_streams_per_organization
        self._per_organization: dict[str, int] = {}
        self._closed = False
        self._on_error = on_error
        self._listening = False
        self._streams = 0
        self._watchers: dict[WatchKey, Watcher] = {}
        self._by_campaign: dict[tuple[str, str], set[Watcher]] = {}

    @property
    def streams(self) -> int:
        return self._streams

    @property
    def watchers(self) -> int:
        return len(self._watchers)

    def notify(self, organization_id: str, campaign_id: str) -> None:
        """A change signal: wake every watcher of the campaign."""
        for watcher in self._by_campaign.get((organization_id, campaign_id), ()):
            watcher.wake()

    async def stream(
        self, principal: Principal, request: StreamRequest
    ) -> AsyncGenerator[LiveUpdate, None]:
        """The stream's updates; CampaignNotFoundError when the campaign is not the principal's
        organization's (or is deleted while watched)."""
        principal.require_read()
        organization_id = principal.organization_id
        self._check_capacity(organization_id)
        self._listen()
        key = (organization_id, request.campaign_id, request.breakdowns)
        watcher = self._watcher(key)
        subscription = watcher.join()
        self._streams += 1
        self._per_organization[organization_id] = self._per_organization.get(organization_id, 0) + 1
        interval = request.min_interval.total_seconds()
        loop = asyncio.get_running_loop()
        try:
            first = True
            while True:
                reading = await subscription.next()
                if reading.error is not None:
                    raise reading.error
                if reading.metrics is None or reading.status is None:
                    raise CampaignNotFoundError(request.campaign_id)
                sent_at = loop.time()
                yield LiveUpdate(reading.metrics, reading.status, first, reading.final)
                if reading.final:
                    return
                first = False
                # Coalescing: whatever the watcher reads meanwhile overwrites the slot.
                await asyncio.sleep(max(0.0, interval - (loop.time() - sent_at)))
        finally:
            self._streams -= 1
            left = self._per_organization[organization_id] - 1
            if left:
                self._per_organization[organization_id] = left
            else:
                del self._per_organization[organization_id]
            watcher.leave(subscription)

    def close(self) -> None:
        """Shutting down: end every stream now with UNAVAILABLE, so its client reconnects (to
        another replica) and the server's stop does not wait its whole grace period for streams
        that would never end by themselves; refuse new ones the same way."""
        self._closed = True
        for watcher in list(self._watchers.values()):
            watcher.end(DependencyUnavailableError(SHUTTING_DOWN))

    def _check_capacity(self, organization_id: str) -> None:
        if self._closed:
            raise DependencyUnavailableError(SHUTTING_DOWN)
        if self._streams >= self._max_streams:
            raise QuotaExceededError(
                f"this server already serves {self._max_streams} live metric streams; retry later"
            )
        if self._per_organization.get(organization_id, 0) >= self._max_per_organization:
            raise QuotaExceededError(
                f"the organization already has {self._max_per_organization} live metric streams "
                "open on this server; close some first"
            )

    def _listen(self) -> None:
        if not self._listening and self._feed is not None:
            self._feed.listen(self.notify)
            self._listening = True

    def _watcher(self, key: WatchKey) -> Watcher:
        watcher = self._watchers.get(key)
        if watcher is not None and not watcher.closed:
            return watcher
        organization_id, campaign_id, breakdowns = key

        async def read_status() -> CampaignStatus | None:
            async with self._campaigns(read_only=True) as uow:
                campaign = await uow.campaigns.get(organization_id, campaign_id)
            return campaign.status if campaign is not None else None

        async def read_metrics() -> CampaignMetrics:
            return await self._ledger.read(organization_id, campaign_id, None, breakdowns)

        watcher = Watcher(
            key,
            read_status,
            read_metrics,
            self._timing,
            on_closed=self._forget,
            on_error=self._on_error,
        )
        self._watchers[key] = watcher
        self._by_campaign.setdefault((organization_id, campaign_id), set()).add(watcher)
        return watcher

    def _forget(self, watcher: Watcher) -> None:
        if self._watchers.get(watcher.key) is watcher:
            del self._watchers[watcher.key]
        campaign = watcher.key[:2]
        siblings = self._by_campaign.get(campaign)
        if siblings is not None:
            siblings.discard(watcher)
            if not siblings:
                del self._by_campaign[campaign]
