"""Metric change signals on the real NATS (127.0.0.1:4222), each test on a subject prefix of its
own: a replica's change wakes the other replica's listeners and streams, coalesced per campaign
by the writer, in the domain event envelope."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import aclosing
from datetime import UTC, datetime, timedelta

import nats
import orjson
import pytest

from adapters.memory.campaigns import MemoryStore
from adapters.memory.metric_ledger import MemoryMetricLedger
from adapters.nats.metric_changes import NatsMetricChanges
from adapters.system import UuidGenerator
from domain.campaigns.model import CampaignSpec, CampaignType, ChannelContent
from domain.campaigns.service import CampaignService
from domain.kernel.channels import Channel
from domain.kernel.principal import Principal, Role
from domain.metrics.model import Cell, MetricTotals
from domain.metrics.stream_request import StreamRequest
from domain.metrics.streams import LiveMetrics
from domain.metrics.watcher import WatchTiming
from tests.integration.nats_support import StreamNames, shared_nats_url
from tests.support.waiting import until

pytestmark = pytest.mark.nats
ADMIN = Principal("org-m", "alice", frozenset({Role.ADMIN}))
AT = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


@pytest.fixture
async def replicas() -> AsyncIterator[tuple[NatsMetricChanges, NatsMetricChanges]]:
    url, prefix = shared_nats_url(), StreamNames.fresh().prefix
    one = NatsMetricChanges(url, subject_prefix=prefix)
    two = NatsMetricChanges(url, subject_prefix=prefix)
    try:
        yield one, two
    finally:
        await one.close()
        await two.close()


async def test_a_change_on_one_replica_reaches_the_others_listeners_in_the_event_envelope(
    replicas: tuple[NatsMetricChanges, NatsMetricChanges],
) -> None:
    writer, reader = replicas
    heard_here: list[tuple[str, str]] = []
    heard_there: list[tuple[str, str]] = []
    writer.listen(lambda org, campaign: heard_here.append((org, campaign)))
    reader.listen(lambda org, campaign: heard_there.append((org, campaign)))
    raw = await nats.connect(writer.url)
    envelopes: list[dict[str, object]] = []

    async def keep(msg: nats.aio.msg.Msg) -> None:
        envelopes.append(orjson.loads(msg.data))

    try:
        await raw.subscribe(writer.subject, cb=keep)
        await raw.flush()
        await until(lambda: reader.subscribed and writer.subscribed)
        writer.changed("org-m", "cmp-1")
        assert heard_here == [("org-m", "cmp-1")]  # locally at once, without the round trip
        await until(lambda: heard_there == [("org-m", "cmp-1")] and bool(envelopes))
    finally:
        await raw.close()
    assert writer.subject.endswith("campaign.metric.updated")
    envelope = envelopes[0]
    assert envelope["event_type"] == "campaign.metric.updated"
    assert envelope["organization_id"] == "org-m"
    assert envelope["data"] == {
        "campaign_id": "cmp-1",
        "metric_type": "counters",
        "timestamp": envelope["occurred_at"],
    }
    assert heard_here == [("org-m", "cmp-1")]  # no echo of our own signal


async def test_the_writer_coalesces_a_burst_per_campaign(
    replicas: tuple[NatsMetricChanges, NatsMetricChanges],
) -> None:
    writer, reader = replicas
    heard: list[tuple[str, str]] = []
    reader.listen(lambda org, campaign: heard.append((org, campaign)))
    await until(lambda: reader.subscribed)
    for _ in range(500):
        writer.changed("org-m", "cmp-busy")
        writer.changed("org-m", "cmp-quiet")
    await until(lambda: ("org-m", "cmp-quiet") in heard and ("org-m", "cmp-busy") in heard)
    await asyncio.sleep(0.3)  # anything still queued goes out within a coalescing window
    assert 1 <= heard.count(("org-m", "cmp-busy")) <= 2
    assert 1 <= heard.count(("org-m", "cmp-quiet")) <= 2


async def test_a_stream_on_one_replica_follows_writes_on_another(
    replicas: tuple[NatsMetricChanges, NatsMetricChanges],
) -> None:
    writer, reader = replicas
    store, ledger = MemoryStore(), MemoryMetricLedger()  # both replicas' shared database
    service = CampaignService(store.unit_of_work, _Clock(), UuidGenerator())
    created = await service.create_campaign(ADMIN, _spec())
    # A refresh far beyond the test: only the signal can bring the update in time.
    live = LiveMetrics(
        ledger, store.unit_of_work, reader, timing=WatchTiming(refresh_interval=60.0)
    )
    request = StreamRequest(created.campaign_id, timedelta(milliseconds=100), ())
    async with aclosing(live.stream(ADMIN, request)) as updates:
        assert (await anext(updates)).snapshot
        await until(lambda: reader.subscribed)
        cell = Cell("org-m", created.campaign_id, "exe-1", "A", "email")
        await ledger.add({cell: MetricTotals(sent=4)}, AT)
        writer.changed("org-m", created.campaign_id)
        async with asyncio.timeout(2.0):
            update = await anext(updates)
    assert update.metrics.totals.sent == 4


class _Clock:
    def now(self) -> datetime:
        return AT


def _spec() -> CampaignSpec:
    return CampaignSpec(
        name="Signals",
        campaign_type=CampaignType.SCHEDULED,
        channels=(ChannelContent(Channel.EMAIL, subject="Hi", html_body="<p>hi</p>"),),
    )
