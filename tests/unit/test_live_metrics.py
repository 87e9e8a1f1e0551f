"""Live metric streams (domain.metrics.streams) on the in-memory ledger, campaigns store and
change signals: snapshot first, coalescing, the final snapshot, tenancy, and the fan-out's
promises (one read per change for hundreds of subscribers, a stalled subscriber delays nobody,
no task outlives its streams)."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncGenerator, Callable, Sequence
from contextlib import aclosing
from datetime import timedelta

import pytest

from adapters.embedded.metric_changes import InProcessMetricChanges
from adapters.memory.campaigns import MemoryStore
from adapters.memory.metric_ledger import MemoryMetricLedger
from adapters.system import UuidGenerator
from domain.campaigns.campaign import Campaign
from domain.campaigns.model import CampaignSpec, CampaignStatus
from domain.campaigns.service import CampaignService
from domain.kernel.errors import (
    CampaignNotFoundError,
    DependencyUnavailableError,
    InvalidArgumentError,
    QuotaExceededError,
)
from domain.kernel.principal import Principal
from domain.metrics.model import Breakdown, CampaignMetrics, Cell, MetricTotals
from domain.metrics.stream_request import StreamRequest, stream_request
from domain.metrics.streams import LiveMetrics, LiveUpdate
from domain.metrics.watcher import WatchTiming
from tests.support.waiting import until
from tests.unit.conftest import NOW, FakeClock

TIMING = WatchTiming(read_interval=0.02, refresh_interval=0.25)


class CountingLedger(MemoryMetricLedger):
    """The in-memory ledger, counting its reads."""

    def __init__(self) -> None:
        super().__init__()
        self.reads = 0

    async def read(
        self,
        organization_id: str,
        campaign_id: str,
        execution_id: str | None,
        breakdowns: Sequence[Breakdown],
    ) -> CampaignMetrics:
        self.reads += 1
        return await super().read(organization_id, campaign_id, execution_id, breakdowns)


class Fixture:
    def __init__(self, store: MemoryStore, service: CampaignService, admin: Principal) -> None:
        self.store = store
        self.service = service
        self.admin = admin
        self.ledger = CountingLedger()
        self.changes = InProcessMetricChanges()
        self.live = LiveMetrics(self.ledger, store.unit_of_work, self.changes, timing=TIMING)
        self.campaign_id = ""

    async def running_campaign(self, spec: CampaignSpec) -> str:
        created = await self.service.create_campaign(self.admin, spec)
        self.campaign_id = created.campaign_id
        await self._move(lambda c: c.send_now(by="alice", at=NOW))
        return self.campaign_id

    async def complete(self) -> None:
        await self._move(lambda c: c.finish_execution(at=NOW))

    async def _move(self, change: Callable[[Campaign], None]) -> None:
        async with self.store.unit_of_work() as uow:
            campaign = await uow.campaigns.get(self.admin.organization_id, self.campaign_id)
            assert campaign is not None
            change(campaign)
            _, _events = campaign.take_changes()
            await uow.campaigns.save(campaign, expected_version=campaign.version - 1)
            await uow.commit()

    async def count(self, sent: int = 0, delivered: int = 0, variant: str = "A") -> None:
        cell = Cell(self.admin.organization_id, self.campaign_id, "exe-1", variant, "email")
        await self.ledger.add({cell: MetricTotals(sent=sent, delivered=delivered)}, NOW)
        self.changes.changed(self.admin.organization_id, self.campaign_id)

    def request(
        self, interval: float = 0.1, breakdowns: tuple[Breakdown, ...] = ()
    ) -> StreamRequest:
        return StreamRequest(self.campaign_id, timedelta(seconds=interval), breakdowns)

    def stream(
        self, request: StreamRequest | None = None, principal: Principal | None = None
    ) -> AsyncGenerator[LiveUpdate, None]:
        return self.live.stream(principal or self.admin, request or self.request())


@pytest.fixture
def hub(store: MemoryStore, clock: FakeClock, admin: Principal) -> Fixture:
    return Fixture(store, CampaignService(store.unit_of_work, clock, UuidGenerator()), admin)


async def test_the_first_update_is_a_full_snapshot(
    hub: Fixture, scheduled_spec: CampaignSpec
) -> None:
    await hub.running_campaign(scheduled_spec)
    await hub.count(sent=3, delivered=2, variant="A")
    await hub.count(sent=1, variant="B")
    request = hub.request(breakdowns=(Breakdown.VARIANT,))
    async with aclosing(hub.stream(request)) as updates:
        first = await anext(updates)
    assert first.snapshot
    assert not first.final
    assert first.status is CampaignStatus.RUNNING
    assert (first.metrics.totals.sent, first.metrics.totals.delivered) == (4, 2)
    assert [(r.key, r.totals.sent) for r in first.metrics.rows] == [("A", 3), ("B", 1)]


async def test_a_change_is_streamed_and_the_end_is_a_final_snapshot(
    hub: Fixture, scheduled_spec: CampaignSpec
) -> None:
    await hub.running_campaign(scheduled_spec)
    async with aclosing(hub.stream()) as updates:
        assert (await anext(updates)).metrics.totals.sent == 0
        await hub.count(sent=5)
        update = await anext(updates)
        assert not update.snapshot
        assert update.metrics.totals.sent == 5
        await hub.count(sent=2)
        await hub.complete()  # no signal needed: the watcher also re-reads on its timer
        seen = [update async for update in updates]
    assert seen[-1].final
    assert seen[-1].status is CampaignStatus.COMPLETED
    assert seen[-1].metrics.totals.sent == 7
    assert not any(u.final for u in seen[:-1])
    assert (hub.live.watchers, hub.live.streams) == (0, 0)


async def test_a_cancelled_campaign_ends_its_streams(
    hub: Fixture, scheduled_spec: CampaignSpec
) -> None:
    await hub.running_campaign(scheduled_spec)
    async with aclosing(hub.stream()) as updates:
        await anext(updates)
        await hub.service.cancel_campaign(hub.admin, hub.campaign_id, "wrong audience")
        hub.changes.changed(hub.admin.organization_id, hub.campaign_id)
        rest = [update async for update in updates]
    assert [(u.final, u.status) for u in rest] == [(True, CampaignStatus.CANCELLED)]


async def test_an_ended_campaign_streams_one_message_both_snapshot_and_final(
    hub: Fixture, scheduled_spec: CampaignSpec
) -> None:
    await hub.running_campaign(scheduled_spec)
    await hub.count(sent=9)
    await hub.complete()
    updates = [update async for update in hub.stream()]
    assert [(u.snapshot, u.final, u.metrics.totals.sent) for u in updates] == [(True, True, 9)]


async def test_another_organizations_campaign_is_not_found(
    hub: Fixture, scheduled_spec: CampaignSpec, outsider: Principal
) -> None:
    await hub.running_campaign(scheduled_spec)
    with pytest.raises(CampaignNotFoundError):
        await anext(hub.stream(principal=outsider))
    await until(lambda: hub.live.watchers == 0)


async def test_updates_are_coalesced_to_one_per_min_interval(
    hub: Fixture, scheduled_spec: CampaignSpec
) -> None:
    await hub.running_campaign(scheduled_spec)
    loop = asyncio.get_running_loop()
    received: list[tuple[float, int]] = []

    async def consume() -> None:
        async for update in hub.stream(hub.request(interval=0.2)):
            received.append((loop.time(), update.metrics.totals.sent))

    consumer = asyncio.create_task(consume())
    await until(lambda: bool(received))
    started = loop.time()
    for _ in range(40):  # a change every ~15 ms for ~0.6 s
        await hub.count(sent=1)
        await asyncio.sleep(0.015)
    await until(lambda: received[-1][1] == 40)
    elapsed = loop.time() - started
    consumer.cancel()
    gaps = [b[0] - a[0] for a, b in itertools.pairwise(received)]
    assert min(gaps) >= 0.19, gaps
    assert len(received) - 1 <= elapsed / 0.2 + 1, (len(received), elapsed)
    assert [sent for _, sent in received] == sorted(sent for _, sent in received)


async def test_300_subscribers_share_one_watcher_and_all_get_the_same_final_snapshot(
    hub: Fixture, scheduled_spec: CampaignSpec
) -> None:
    await hub.running_campaign(scheduled_spec)

    async def last_update() -> LiveUpdate:
        return [update async for update in hub.stream()][-1]

    subscribers = [asyncio.create_task(last_update()) for _ in range(300)]
    await until(lambda: hub.live.streams == 300)
    assert hub.live.watchers == 1
    for _ in range(10):
        await hub.count(sent=10, delivered=9)
        await asyncio.sleep(0.01)
    await hub.complete()
    finals = await asyncio.gather(*subscribers)
    assert {(u.final, u.metrics.totals.sent, u.metrics.totals.delivered) for u in finals} == {
        (True, 100, 90)
    }
    assert hub.ledger.reads < 60  # one watcher read per change burst, not one per subscriber


async def test_a_subscriber_that_stops_reading_delays_nobody_and_keeps_only_the_latest(
    hub: Fixture, scheduled_spec: CampaignSpec
) -> None:
    await hub.running_campaign(scheduled_spec)
    stalled = hub.stream()
    await anext(stalled)  # then never asks again, like a client that stopped reading
    seen: list[int] = []

    async def reader() -> None:
        async for update in hub.stream():
            seen.append(update.metrics.totals.sent)

    readers = [asyncio.create_task(reader()) for _ in range(5)]
    await until(lambda: len(seen) == 5)
    loop = asyncio.get_running_loop()
    for expected in range(1, 6):
        changed_at = loop.time()
        await hub.count(sent=1)
        await until(lambda expected=expected: seen.count(expected) == 5, within=1.0)
        assert loop.time() - changed_at < 0.5
    resumed = await anext(stalled)  # the latest reading only, not a backlog of five
    assert resumed.metrics.totals.sent == 5
    await stalled.aclose()
    for task in readers:
        task.cancel()


async def test_the_task_count_returns_to_its_baseline_after_the_subscribers_go(
    hub: Fixture, scheduled_spec: CampaignSpec
) -> None:
    await hub.running_campaign(scheduled_spec)
    baseline = len(asyncio.all_tasks())

    async def consume(breakdowns: tuple[Breakdown, ...]) -> None:
        async for _ in hub.stream(hub.request(breakdowns=breakdowns)):
            pass

    shapes: list[tuple[Breakdown, ...]] = [(), (Breakdown.VARIANT,), (Breakdown.CHANNEL,)]
    subscribers = [asyncio.create_task(consume(shapes[i % 3])) for i in range(300)]
    await until(lambda: hub.live.streams == 300)
    assert hub.live.watchers == 3
    await hub.count(sent=1)
    await asyncio.sleep(0.05)
    for task in subscribers:
        task.cancel()
    await asyncio.gather(*subscribers, return_exceptions=True)
    await until(lambda: len(asyncio.all_tasks()) == baseline)
    assert (hub.live.streams, hub.live.watchers) == (0, 0)


def test_min_interval_below_100ms_is_invalid_and_breakdowns_are_deduplicated() -> None:
    with pytest.raises(InvalidArgumentError) as caught:
        stream_request("cmp-1", timedelta(milliseconds=99), [Breakdown.SEGMENT, None])
    assert [v.field for v in caught.value.violations] == ["min_interval", "breakdowns[1]"]
    checked = stream_request(
        "cmp-1", None, [Breakdown.SEGMENT, Breakdown.VARIANT, Breakdown.SEGMENT]
    )
    assert checked.min_interval == timedelta(seconds=1)
    assert checked.breakdowns == (Breakdown.VARIANT, Breakdown.SEGMENT)
    assert stream_request("cmp-1", timedelta(milliseconds=100), []).breakdowns == ()


async def test_no_update_is_sent_while_nothing_changes(
    hub: Fixture, scheduled_spec: CampaignSpec
) -> None:
    await hub.running_campaign(scheduled_spec)
    async with aclosing(hub.stream()) as updates:
        await anext(updates)
        hub.changes.changed(hub.admin.organization_id, hub.campaign_id)  # a signal, no change
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(TIMING.refresh_interval * 2.5):  # two timer re-reads
                await anext(updates)


class GatedLedger(CountingLedger):
    """Holds every read until the test opens the gate."""

    def __init__(self) -> None:
        super().__init__()
        self.gate = asyncio.Event()

    async def read(
        self,
        organization_id: str,
        campaign_id: str,
        execution_id: str | None,
        breakdowns: Sequence[Breakdown],
    ) -> CampaignMetrics:
        self.reads += 1
        await self.gate.wait()
        return await MemoryMetricLedger.read(
            self, organization_id, campaign_id, execution_id, breakdowns
        )


async def test_a_stream_joining_while_the_final_reading_is_taken_gets_it_too(
    hub: Fixture, scheduled_spec: CampaignSpec
) -> None:
    await hub.running_campaign(scheduled_spec)
    await hub.complete()
    ledger = GatedLedger()
    hub.live = LiveMetrics(ledger, hub.store.unit_of_work, hub.changes, timing=TIMING)
    early = asyncio.create_task(anext(hub.stream()))
    await until(lambda: ledger.reads == 1)  # the watcher is inside its (final) reading
    late = asyncio.create_task(anext(hub.stream()))
    await asyncio.sleep(0)
    ledger.gate.set()
    async with asyncio.timeout(2.0):
        updates = await asyncio.gather(early, late)
    assert [(u.final, u.status) for u in updates] == [(True, CampaignStatus.COMPLETED)] * 2
    assert ledger.reads == 1


async def test_closing_the_hub_ends_every_stream_as_unavailable_and_refuses_new_ones(
    hub: Fixture, scheduled_spec: CampaignSpec
) -> None:
    await hub.running_campaign(scheduled_spec)
    streams = [hub.stream() for _ in range(3)]
    for stream in streams:
        await anext(stream)

    hub.live.close()

    for stream in streams:
        with pytest.raises(DependencyUnavailableError):
            await anext(stream)
    with pytest.raises(DependencyUnavailableError):
        await anext(hub.stream())
    assert (hub.live.streams, hub.live.watchers) == (0, 0)


async def test_one_organization_cannot_take_every_stream(
    hub: Fixture, scheduled_spec: CampaignSpec
) -> None:
    await hub.running_campaign(scheduled_spec)
    hub.live = LiveMetrics(
        hub.ledger, hub.store.unit_of_work, timing=TIMING, max_streams_per_organization=2
    )
    open_streams = [hub.stream(), hub.stream()]
    for stream in open_streams:
        await anext(stream)
    with pytest.raises(QuotaExceededError):
        await anext(hub.stream())
    await open_streams[0].aclose()
    async with aclosing(hub.stream()) as again:
        assert (await anext(again)).snapshot
    await open_streams[1].aclose()
