"""The metric ledger stays exact under a concurrent workload (docs/metrics.md): two server
processes on one Postgres and one broker fan two campaigns out (executors claiming and marking
batches, relays marking deferred messages) while delivery reports in random order, repeats and
duplicates included, arrive through TrackEvents on both processes at once. In snapshots taken
mid-flight and at the end, every counter of every cell (so of every breakdown: variant,
channel, segment are sums of cells) equals a recount of the message table, and each run's
holdout equals its execution's holdout count.
"""

from __future__ import annotations

import asyncio
import random
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import grpc
import pytest
from campaign.v1 import event_pb2, event_service_pb2, event_service_pb2_grpc
from google.protobuf import struct_pb2

from adapters.sql.engine import make_engine
from tests.e2e.helpers import mint_token
from tests.faults.conftest import RPC_TIMEOUT, Rig, eventually
from tests.support.metric_recount import mismatches
from tests.support.server_process import ServerProcess

pytestmark = [pytest.mark.postgres, pytest.mark.nats]

SIZE = 400
BATCH = 40  # many batches: many claims and marks to race the reports
PER_MINUTE = 6_000  # 100 a second: most of the run is deferred to the relay
KINDS = ("delivered", "opened", "opened", "clicked", "bounced", "failed", "unsubscribed")
REPORTS_PER_CALL = 120


@pytest.fixture
def env_overrides() -> dict[str, str]:
    return {"CAMPAIGN_EXECUTOR_BATCH_SIZE": str(BATCH)}


def _event(message_id: str, kind: str, at: datetime) -> event_pb2.TrackedEvent:
    properties = struct_pb2.Struct()
    properties.update(
        {"message_id": message_id, "status": kind, "occurred_at": at.isoformat()}
        | ({"bounce_type": random.choice(["hard", "soft"])} if kind == "bounced" else {})
    )
    return event_pb2.TrackedEvent(
        event_id=f"n-{uuid.uuid4().hex}",
        event_type=f"notification.{kind}",
        user_id="reporter",
        properties=properties,
    )


async def _track(rig: Rig, server: ServerProcess, events: list[Any]) -> int:
    def run(channel: grpc.Channel, metadata: Any) -> int:
        reply = event_service_pb2_grpc.EventServiceStub(channel).TrackEvents(
            event_service_pb2.TrackEventsRequest(events=events),
            metadata=metadata,
            timeout=RPC_TIMEOUT,
        )
        return int(reply.accepted_count)

    return int(await rig.call(server, run))


async def test_counters_equal_a_recount_under_concurrent_runs_and_reports(rig: Rig) -> None:
    servers = list(await asyncio.gather(rig.start_server(), rig.start_server()))
    rig._token = mint_token(rig.org)  # the servers' test secret: no `campaign-service token` run
    await rig.seed(servers[0], SIZE)
    campaigns = [
        await rig.launch(servers[0], lead=1.0),
        await rig.launch(servers[1], lead=1.0, per_minute=PER_MINUTE),
    ]
    engine = make_engine(rig.database_url)
    rng = random.Random(11)
    done = asyncio.Event()
    sent_reports = [0, 0]

    async def report_on(index: int) -> None:
        """Reports on random messages written so far, on one process; a few are sent again
        (duplicates by event id) on the other process. Half of the messages never get a report,
        so batches marked as a whole keep rows of their own whatever the workload's length."""
        server, other = servers[index], servers[1 - index]
        while not done.is_set():
            async with rig.database() as db:
                rows = await db.fetch(
                    "SELECT message_id FROM messages WHERE campaign_id = ANY($1::text[])"
                    " AND hashtext(message_id) % 2 = 0 ORDER BY random() LIMIT $2",
                    campaigns,
                    REPORTS_PER_CALL,
                )
            if not rows:
                await asyncio.sleep(0.05)
                continue
            now = datetime.now(UTC)
            events = [
                _event(
                    r["message_id"], rng.choice(KINDS), now + timedelta(seconds=rng.randint(-5, 5))
                )
                for r in rows
            ]
            sent_reports[index] += await _track(rig, server, events)
            await _track(rig, other, rng.sample(events, len(events) // 10))

    async def snapshots() -> int:
        checked = 0
        while not done.is_set():
            assert await mismatches(engine, rig.org) == []
            checked += 1
            await asyncio.sleep(0.5)
        return checked

    reporters = [asyncio.create_task(report_on(i)) for i in (0, 1)]
    checker = asyncio.create_task(snapshots())
    try:
        for campaign_id in campaigns:
            await rig.wait_completed(servers[0], campaign_id, within=90)

        async def all_handed_over() -> bool:
            return all([(await rig.progress(c)).queued == 0 for c in campaigns])

        await eventually(all_handed_over, within=60, what="every message handed over")
    finally:
        done.set()
        await asyncio.gather(*reporters)
        mid_flight = await checker

    try:
        assert await mismatches(engine, rig.org) == []
    finally:
        await engine.dispose()
    assert min(sent_reports) > 0, sent_reports
    assert mid_flight >= 2, mid_flight
    await assert_every_path_was_raced(rig, campaigns)


async def assert_every_path_was_raced(rig: Rig, campaigns: list[str]) -> None:
    """The workload reached what it is meant to race: batches marked as a whole, rows moved by
    reports or the relay, opens and failures reported, holdouts counted."""
    async with rig.database() as db:
        reached = await db.fetchrow(
            "SELECT count(*) FILTER (WHERE status = 'dispatching') AS marked_as_batch,"
            " count(*) FILTER (WHERE handover_id IS NULL AND sent_at IS NOT NULL) AS own,"
            " count(opened_at) AS opened, count(failed_at) AS failed"
            " FROM messages WHERE campaign_id = ANY($1::text[])",
            campaigns,
        )
        holdout = await db.fetchval(
            "SELECT sum(holdout) FROM metric_counters WHERE campaign_id = ANY($1::text[])",
            campaigns,
        )
    assert reached["marked_as_batch"] > 0, dict(reached)
    assert reached["own"] > 0, dict(reached)
    assert reached["opened"] > 0, dict(reached)
    assert reached["failed"] > 0, dict(reached)
    assert holdout > 0
