"""Scenario `trigger-latency`: events published on NATS against 20 active triggered campaigns on
Postgres + NATS + Redis.

Setup (not measured): a fresh Postgres database with BENCH_TRIGGER_USERS contacts COPYed into the
built-in directory, the real `campaign-service serve` (a supervisor and BENCH_SERVER_WORKERS worker
processes, 2 by default: bench/scenarios/real_stack.py; JetStream events, delivery and
inbound streams unique to this run through a subject prefix, Redis limits out of the way), and
20 TRIGGERED campaigns created and activated through the gRPC API. Every campaign listens to
`order.completed` with the condition `store == s<k>`, so each event matches exactly one of them
after all 20 were evaluated. Event i goes to member i mod U (U members: the contacts nobody
suppressed, so every event must reach delivery) and campaign i div U: each
(campaign, user) pair fires once, so no frequency limit binds, and consecutive events are about
different users, as real traffic is (the intake keeps one user's events in order).

Measured, phase 1: 500 events/s for 60 s (BENCH_TRIGGER_RATE, BENCH_TRIGGER_SECONDS), each
published into JetStream as the event service would (`order.completed`, the envelope of
docs/inbound-events.md). For each event: publish -> its message row (`queued_at`, stamped in the
transaction that commits the row) and publish -> its delivery request on
`notification.send.email` received by a subscriber (the notification service's view); p50, p99
and max of each (over the events that reached it; `messages` says how many). Phase 2, the
sustained rate: steps of rising rates (100 to 4,000 events/s, 10 s each); a step is kept up
with when, 2 s after its last publish, every one of its events has reached delivery (the
consumer's lag did not grow) and its p99 stayed under a second. The highest such rate is
reported.

Goal from the issue (reported, never asserted): p99 < 100 ms to the delivery request, and at
least 2,000 events/s sustained. Cleanup: the database is dropped, the run's streams deleted and
its Redis limiter keys removed.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import asyncpg
import grpc
import nats
import orjson
from campaign.v1 import campaign_pb2, campaign_service_pb2, campaign_service_pb2_grpc
from google.protobuf import struct_pb2

from bench.loadgen import LoadSettings
from bench.processes import server_peak_rss_mb
from bench.scenarios import Emit
from bench.scenarios import execute_common as common
from bench.scenarios.execute import (
    NATS_URL,
    load_population,
)
from bench.scenarios.real_stack import real_stack
from tests.support.compliance import FOOTER
from tests.support.server_process import start_server

DESCRIPTION = "events on NATS -> triggered messages: latency p50/p99/max and sustained events/s"
SCENARIO = "trigger-latency"
CAMPAIGNS = 20
EVENT_TYPE = "order.completed"
GOAL_P99_MS, GOAL_EVENTS_PER_S = 100.0, 2_000.0
STEPS = (100, 250, 500, 1_000, 2_000, 4_000)
STEP_SECONDS = 10.0
DRAIN_SECONDS = 2.0
KEPT_UP_P99_MS = 1_000.0
POLL_S = 0.2


def step_rates() -> tuple[int, ...]:
    """The step rates: STEPS, or BENCH_TRIGGER_STEPS (comma-separated events/s; "none" for
    phase 1 alone, to compare two versions' throughput on a backlog quickly)."""
    raw = os.environ.get("BENCH_TRIGGER_STEPS", "").strip()
    if not raw:
        return STEPS
    return () if raw == "none" else tuple(int(r) for r in raw.split(","))


def _env_number(name: str, default: float) -> float:
    raw = os.environ.get(name, "").strip()
    return float(raw) if raw else default


def campaign_request(k: int) -> campaign_service_pb2.CreateCampaignRequest:
    everyone = campaign_pb2.Condition(
        field="locale",
        operator=campaign_pb2.CONDITION_OPERATOR_EQUALS,
        value=struct_pb2.Value(string_value=common.LOCALE),
    )
    store = campaign_pb2.Condition(
        field="store",
        operator=campaign_pb2.CONDITION_OPERATOR_EQUALS,
        value=struct_pb2.Value(string_value=f"s{k}"),
    )
    return campaign_service_pb2.CreateCampaignRequest(
        name=f"bench trigger {k}",
        campaign_type=campaign_pb2.CAMPAIGN_TYPE_TRIGGERED,
        audiences=[
            campaign_pb2.Audience(
                segment_type=campaign_pb2.SEGMENT_TYPE_INCLUDE,
                query=campaign_pb2.SegmentQuery(conditions=[everyone]),
            )
        ],
        channels=[
            campaign_pb2.ChannelContent(
                channel=campaign_pb2.CHANNEL_EMAIL,
                email=campaign_pb2.EmailContent(
                    subject="Thanks for your order, {{ first_name }}",
                    html_body="<p>Hello {{ first_name }}, use {{ code }} next time.</p>" + FOOTER,
                ),
            )
        ],
        triggers=[campaign_pb2.Trigger(event_type=EVENT_TYPE, conditions=[store])],
        throttle=campaign_pb2.Throttle(quiet_hours=campaign_pb2.QuietHours(enabled=False)),
        tags=["bench"],
    )


def activate_campaigns(address: str, token: str) -> list[str]:
    metadata = [("authorization", f"Bearer {token}")]
    ids = []
    with grpc.insecure_channel(address) as channel:
        stub = campaign_service_pb2_grpc.CampaignServiceStub(channel)
        for k in range(CAMPAIGNS):
            created = stub.CreateCampaign(campaign_request(k), metadata=metadata, timeout=30)
            campaign_id = created.campaign.campaign_id
            stub.ActivateCampaign(
                campaign_service_pb2.ActivateCampaignRequest(campaign_id=campaign_id),
                metadata=metadata,
                timeout=30,
            )
            ids.append(campaign_id)
    return ids


@dataclass
class Timeline:
    """Publish instants by event, delivery-request instants by (campaign, user)."""

    campaign_ids: list[str]
    members: list[str]  # the user ids events go to, in order
    published: dict[tuple[str, str], float] = field(default_factory=dict)
    delivered: dict[tuple[str, str], float] = field(default_factory=dict)

    def key(self, i: int) -> tuple[str, str]:
        return self.campaign_ids[campaign_of(i, len(self.members))], member(self.members, i)

    def on_delivery(self, payload: bytes) -> None:
        now = time.time()
        body = orjson.loads(payload)
        self.delivered.setdefault((body["campaign_id"], body["user_id"]), now)


def campaign_of(i: int, users: int) -> int:
    return (i // users) % CAMPAIGNS


def member(members: list[str], i: int) -> str:
    return members[i % len(members)]


def deliverable(contacts: int) -> list[str]:
    """The loaded contacts nobody suppressed (execute_common suppresses a few on purpose)."""
    return [common.user_id(j) for j in range(contacts) if not common.is_suppressed(j)]


def envelope(org: str, i: int, members: list[str]) -> bytes:
    now = datetime.now(UTC).isoformat()
    return orjson.dumps(
        {
            "event_id": f"bench-{i}",
            "event_type": EVENT_TYPE,
            "source": "order_service",
            "organization_id": org,
            "occurred_at": now,
            "data": {
                "user_id": member(members, i),
                "store": f"s{campaign_of(i, len(members))}",
                "value": 42.5,
            },
        }
    )


async def publish_at_rate(
    nc: Any, subject: str, org: str, timeline: Timeline, *, first: int, count: int, rate: float
) -> None:
    """Events first..first+count-1, evenly spaced at `rate` per second (late ones go at once).

    A plain NATS publish into the stream that captures the subject: JetStream stores it (and
    drops a repeated Nats-Msg-Id) as it stores a JetStream publish, without an acknowledgement
    to wait for. Waiting for each one's, the load generator spent 0.22 of this 2-core machine's
    cores at 1,500 events/s, taken from the server it measures (docs/performance.md, "The load
    generator's own cost"); a lost event would show as one that never reached delivery."""
    started = time.monotonic()
    for n in range(count):
        due = started + n / rate
        delay = due - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        i = first + n
        timeline.published[timeline.key(i)] = time.time()
        await nc.publish(
            subject, envelope(org, i, timeline.members), headers={"Nats-Msg-Id": f"bench-{i}"}
        )
    await nc.flush()


def percentiles(samples: list[float]) -> dict[str, float]:
    if not samples:
        return {"p50_ms": float("nan"), "p99_ms": float("nan"), "max_ms": float("nan")}
    ordered = sorted(samples)

    def at(q: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000, 1)

    return {"p50_ms": at(0.50), "p99_ms": at(0.99), "max_ms": round(ordered[-1] * 1000, 1)}


async def queued_instants(dsn: str, org: str) -> dict[tuple[str, str], float]:
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch(
            "SELECT campaign_id, user_id, queued_at FROM messages WHERE organization_id = $1", org
        )
    finally:
        await conn.close()
    return {(r["campaign_id"], r["user_id"]): r["queued_at"].timestamp() for r in rows}


async def drive(
    dsn: str, org: str, prefix: str, campaign_ids: list[str], *, members: list[str], log: Any
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    rate = _env_number("BENCH_TRIGGER_RATE", 500.0)
    seconds = _env_number("BENCH_TRIGGER_SECONDS", 60.0)
    timeline = Timeline(campaign_ids, members)
    nc = await nats.connect(NATS_URL, connect_timeout=5)
    try:
        js = nc.jetstream(timeout=10)

        async def delivered(msg: Any) -> None:
            timeline.on_delivery(msg.data)

        await nc.subscribe(f"{prefix}notification.send.>", cb=delivered)
        subject = f"{prefix}{EVENT_TYPE}"
        await _captured(js, subject)
        count = int(rate * seconds)
        log(f"phase 1: {count} events at {rate:g}/s")
        await publish_at_rate(nc, subject, org, timeline, first=0, count=count, rate=rate)
        await _drain(timeline, [timeline.key(i) for i in range(count)], 30.0)
        keys = [timeline.key(i) for i in range(count)]
        queued = await queued_instants(dsn, org)
        to_row = [queued[k] - timeline.published[k] for k in keys if k in queued]
        to_delivery = [
            timeline.delivered[k] - timeline.published[k] for k in keys if k in timeline.delivered
        ]
        main = {
            "events": count,
            "rate": rate,
            "rows": len(to_row),
            "deliveries": len(to_delivery),
            "to_row": percentiles(to_row),
            "to_delivery": percentiles(to_delivery),
        }
        steps = []
        first = count
        for step_rate in step_rates():
            step_count = int(step_rate * STEP_SECONDS)
            began = time.monotonic()
            await publish_at_rate(
                nc, subject, org, timeline, first=first, count=step_count, rate=step_rate
            )
            achieved = step_count / (time.monotonic() - began)
            step_keys = [timeline.key(i) for i in range(first, first + step_count)]
            await asyncio.sleep(DRAIN_SECONDS)
            reached = [
                timeline.delivered[k] - timeline.published[k]
                for k in step_keys
                if k in timeline.delivered
            ]
            p = percentiles(reached)
            kept_up = len(reached) == step_count and p["p99_ms"] < KEPT_UP_P99_MS
            steps.append(
                {
                    "rate": step_rate,
                    "published_per_s": round(achieved, 1),
                    "events": step_count,
                    "reached_delivery": len(reached),
                    "kept_up": kept_up,
                    **p,
                }
            )
            log(f"step {step_rate}/s: {len(reached)}/{step_count} reached, {p}")
            first += step_count
            await _drain(timeline, step_keys, 60.0)
            if not kept_up:
                break
        return main, steps
    finally:
        await nc.close()


async def _captured(js: Any, subject: str) -> None:
    """Wait until the server's inbound consumer made a stream capture `subject` (it does so
    right after it starts): a publish before that would find no stream."""
    for _ in range(int(30 / POLL_S)):
        with contextlib.suppress(nats.js.errors.NotFoundError):
            await js.find_stream_name_by_subject(subject)
            return
        await asyncio.sleep(POLL_S)
    raise RuntimeError(f"no stream captures {subject}: is the server consuming inbound events?")


async def _drain(timeline: Timeline, keys: list[tuple[str, str]], within: float) -> None:
    """Wait until every key reached delivery, or `within` seconds passed (then go on: the
    missing ones count as not reached)."""
    for _ in range(int(within / POLL_S)):
        if all(k in timeline.delivered for k in keys):
            return
        await asyncio.sleep(POLL_S)


def run(emit: Emit, settings: LoadSettings) -> None:
    del settings  # the rates are this scenario's own
    rate = _env_number("BENCH_TRIGGER_RATE", 500.0)
    seconds = _env_number("BENCH_TRIGGER_SECONDS", 60.0)
    events = int(rate * seconds) + sum(int(r * STEP_SECONDS) for r in step_rates())
    # A few more contacts than events per campaign, for the suppressed ones left out.
    users = (events // CAMPAIGNS + 1) * 101 // 100 + 10
    run_id = uuid.uuid4().hex[:8]
    org = f"bench-trig-{run_id}"
    log = common.logger(SCENARIO)
    with real_stack(run_id, [org]) as real:
        runner, stack, dsn, env, prefix = real.runner, real.stack, real.dsn, real.env, real.prefix
        runner.run(load_population(dsn, org, users))
        log(f"{users} contacts loaded")
        server = start_server(env)
        stack.callback(server.stop)
        campaign_ids = activate_campaigns(server.address, server.token(org, "admin"))
        log(f"{len(campaign_ids)} triggered campaigns active")
        members = deliverable(users)
        main, steps = runner.run(drive(dsn, org, prefix, campaign_ids, members=members, log=log))
        rss = server_peak_rss_mb(server.process.pid)
    common_fields = {
        "scenario": SCENARIO,
        "campaigns": CAMPAIGNS,
        "server_workers": real.workers,
        "peak_rss_mb": rss,
    }
    delivery = main["to_delivery"]
    emit(
        {
            **common_fields,
            "metric": "publish_to_message_row",
            "value": main["to_row"]["p99_ms"],
            "events": main["events"],
            "events_per_s": main["rate"],
            "messages": main["rows"],
            **main["to_row"],
        }
    )
    emit(
        {
            **common_fields,
            "metric": "publish_to_delivery_request",
            "value": delivery["p99_ms"],
            "events": main["events"],
            "events_per_s": main["rate"],
            "delivery_requests": main["deliveries"],
            **delivery,
            "goal_p99_ms": GOAL_P99_MS,
            "goal_met": bool(delivery["p99_ms"] < GOAL_P99_MS),
        }
    )
    sustained = max((s["rate"] for s in steps if s["kept_up"]), default=0)
    emit(
        {
            **common_fields,
            "metric": "sustained_events_per_s",
            "value": float(sustained),
            "steps": steps,
            "goal_events_per_s": GOAL_EVENTS_PER_S,
            "goal_met": sustained >= GOAL_EVENTS_PER_S,
        }
    )
