"""Scenario `metrics-lag`: delivery reports on NATS -> live metric streams, and the cost of a
metrics read at 1,000 and at 1,000,000 messages, on Postgres + NATS + Redis.

Setup (not measured): a fresh Postgres database, the real `campaign-service serve` (a supervisor
and BENCH_SERVER_WORKERS worker processes, 2 by default: bench/scenarios/real_stack.py;
JetStream streams and subject prefix unique to this run, Redis limits out of the way), and three
organizations, each with its own population COPYed into the contacts table (execute_common's:
everybody matches, 1 % suppressed, two variants, a 5 % holdout), sized so each campaign writes
about the asked number of messages:

- `lag`: BENCH_METRICS_MESSAGES (default 20,000) messages. Its campaign is **recurring** (a daily
  cron firing at the next minute), not sent now: a one-time campaign completes when its run
  ends, and a stream of a completed campaign is one final snapshot (docs/live-metrics.md),
  while a recurring one goes back to `scheduled` and its streams stay open. So setup waits up
  to a minute for the firing (while the other populations load).
- `small` and `large`: BENCH_METRICS_SMALL (1,000) and BENCH_METRICS_LARGE (1,000,000) messages,
  one-time campaigns run by the real execution engine as execute-1m does, so their messages and
  their ledger counters are the engine's own.

Every run must complete with every expected message handed over (SENT) before anything is
measured.

Measured, 1: BENCH_METRICS_SUBSCRIBERS (50) StreamCampaignMetrics streams on the `lag` campaign
(min_interval 100 ms), then BENCH_METRICS_RATE (2,000) delivery reports per second for
BENCH_METRICS_SECONDS (20) published on NATS as the notification service would, each about a
message not yet in that state (bench/scenarios/metrics_lag_drive.py). Lag of (report,
subscriber): from the report's publish to the first update of that stream whose counter covers
it; p50/p99/max over all pairs. Also the report rate the server sustained: reports taken (the
counters' growth) over the time from the first publish until the final counts first showed.

Measured, 2: GetCampaignMetrics (all three breakdowns) on the small and the large campaign,
BENCH_METRICS_READS (300) calls each, one at a time, alternating (bench/scenarios/metrics_reads.py);
`ratio` = small p50 / large p50 latency (1.0 = the same; >= 0.9 is the goal).

Goals from the issue (reported, never asserted): report_to_stream p99 < 250 ms; ratio >= 0.9.
Cleanup: the database is dropped, the run's streams deleted, its Redis limiter keys removed.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import grpc
import numpy as np
from campaign.v1 import campaign_pb2, campaign_service_pb2, campaign_service_pb2_grpc

from bench.loadgen import LoadSettings
from bench.processes import server_peak_rss_mb
from bench.scenarios import Emit
from bench.scenarios import execute_common as common
from bench.scenarios import metrics_lag_drive as lag_drive
from bench.scenarios.execute import (
    Database,
    load_population,
)
from bench.scenarios.metrics_reads import read_latencies
from bench.scenarios.real_stack import real_stack
from tests.support.server_process import ServerProcess, start_server

DESCRIPTION = (
    "delivery reports on NATS -> 50 metric streams: lag p50/p99; GetCampaignMetrics 1k vs 1M"
)
SCENARIO = "metrics-lag"
GOAL_P99_MS = 250.0
GOAL_READ_RATIO = 0.9
INTERVAL_MS = 100
# Messages per contact of execute_common's population: 1 % suppressed, then a 5 % holdout.
MESSAGE_SHARE = (1 - 1 / common.SUPPRESS_EVERY) * (1 - common.HOLDOUT_PERCENT / 100)
CRON_MARGIN_S = 5.0  # the firing is at least this far ahead of the schedule call
DRAIN_S = 60.0  # after the last publish, at least: a server that falls behind still catches up


def _env_int(name: str, default: int, low: int, high: int) -> int:
    raw = os.environ.get(name, "").strip()
    value = int(float(raw)) if raw else default
    if not low <= value <= high:
        raise ValueError(f"{name} must be in [{low}, {high}]")
    return value


def contacts_for(messages: int) -> int:
    """A population whose campaign writes about `messages` messages."""
    return math.ceil(messages / MESSAGE_SHARE) + 10


def schedule_recurring(address: str, token: str, name: str) -> str:
    """Create the lag campaign and give it a daily cron firing at the next whole minute at least
    CRON_MARGIN_S away: it runs once now, then waits a day in `scheduled`."""
    metadata = [("authorization", f"Bearer {token}")]
    at = (datetime.now(UTC) + timedelta(seconds=CRON_MARGIN_S + 60)).replace(
        second=0, microsecond=0
    )
    with grpc.insecure_channel(address) as channel:
        stub = campaign_service_pb2_grpc.CampaignServiceStub(channel)
        campaign = stub.CreateCampaign(
            common.campaign_request(name), metadata=metadata, timeout=30
        ).campaign
        stub.ScheduleCampaign(
            campaign_service_pb2.ScheduleCampaignRequest(
                campaign_id=campaign.campaign_id,
                cron=campaign_pb2.CronSchedule(
                    expression=f"{at.minute} {at.hour} * * *", timezone="UTC"
                ),
            ),
            metadata=metadata,
            timeout=30,
        )
    return str(campaign.campaign_id)


def wait_completed(
    db: Database, server: ServerProcess, campaign_id: str, messages: int, timeout_s: float
) -> common.Outcome:
    """Wait for the campaign's run to complete, then check every expected message was handed
    over (the bench's own recount of execute_common's expectation)."""
    execution = common.wait_until(
        lambda: db.execution(campaign_id),
        timeout_s,
        f"the run of {campaign_id} to complete",
        lambda: server.process.poll() is None,
    )
    outcome = db.outcome(execution)
    common.check(outcome, common.expected(messages, campaign_id), server.log)
    return outcome


async def message_ids(dsn: str, campaign_id: str) -> list[str]:
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch(
            "SELECT message_id FROM messages WHERE campaign_id = $1 ORDER BY message_id",
            campaign_id,
        )
    finally:
        await conn.close()
    return [r["message_id"] for r in rows]


async def counter_rows(dsn: str, campaign_id: str) -> int:
    conn = await asyncpg.connect(dsn)
    try:
        value = await conn.fetchval(
            "SELECT count(*) FROM metric_counters WHERE campaign_id = $1", campaign_id
        )
        await conn.execute("CHECKPOINT")  # the setup's writes out now, not during the reads
    finally:
        await conn.close()
    return int(value)


def _read_stats(seconds: list[float]) -> dict[str, float]:
    values = np.asarray(seconds)
    p50, p99 = np.percentile(values, [50, 99])
    return {
        "p50_ms": round(float(p50) * 1000, 2),
        "p99_ms": round(float(p99) * 1000, 2),
        "max_ms": round(float(values.max()) * 1000, 2),
        "mean_ms": round(float(values.mean()) * 1000, 2),
        "calls": len(values),
    }


@dataclass(frozen=True)
class Knobs:
    """The scenario's environment variables (module docstring)."""

    messages: int
    subscribers: int
    rate: int
    seconds: int
    small: int
    large: int
    reads: int

    @classmethod
    def from_env(cls) -> Knobs:
        return cls(
            messages=_env_int("BENCH_METRICS_MESSAGES", 20_000, 100, 1_000_000),
            subscribers=_env_int("BENCH_METRICS_SUBSCRIBERS", 50, 1, 1_000),
            rate=_env_int("BENCH_METRICS_RATE", 2_000, 1, 100_000),
            seconds=_env_int("BENCH_METRICS_SECONDS", 20, 1, 3_600),
            small=_env_int("BENCH_METRICS_SMALL", 1_000, 100, 5_000_000),
            large=_env_int("BENCH_METRICS_LARGE", 1_000_000, 100, 5_000_000),
            reads=_env_int("BENCH_METRICS_READS", 300, 10, 100_000),
        )

    @property
    def reports(self) -> int:
        return self.rate * self.seconds

    def contacts(self) -> dict[str, int]:
        # Each lag message can take one report per phase (delivered, opened, clicked); the
        # holdout draw varies by a few tenths of a percent, hence the margin.
        lag = max(self.messages, math.ceil(self.reports / len(lag_drive.PHASES) * 1.02) + 20)
        return {
            "lag": contacts_for(lag),
            "small": contacts_for(self.small),
            "large": contacts_for(self.large),
        }


@dataclass(frozen=True)
class Prepared:
    """What the setup left running and knows: the server, a token per organization, the three
    campaigns, their completed runs and the small and large campaigns' counter rows."""

    server: ServerProcess
    tokens: dict[str, str]
    campaigns: dict[str, str]
    outcomes: dict[str, common.Outcome]
    counter_rows: dict[str, int]


@dataclass(frozen=True)
class Measured:
    plan: lag_drive.Plan
    timeline: lag_drive.Timeline
    lags: lag_drive.Lags
    reads: dict[str, dict[str, Any]]
    prepared: Prepared
    subscribers: int
    peak_rss_mb: float | None  # the supervisor's and its workers' together
    server_workers: int = 1


def prepare(
    stack: contextlib.ExitStack,
    runner: asyncio.Runner,
    env: dict[str, str],
    *,
    dsn: str,
    orgs: dict[str, str],
    sizes: dict[str, int],
    log: Callable[[str], None],
) -> Prepared:
    """Populations, server, the three campaigns, all runs completed (not measured)."""
    started = time.monotonic()
    runner.run(load_population(dsn, orgs["lag"], sizes["lag"]))
    server = start_server(env)
    stack.callback(server.stop)
    tokens = {name: server.token(org, "admin") for name, org in orgs.items()}
    campaigns = {"lag": schedule_recurring(server.address, tokens["lag"], f"bench {orgs['lag']}")}
    log(f"lag campaign {campaigns['lag']}: {sizes['lag']} contacts, fires at the next minute")
    for name in ("small", "large"):
        runner.run(load_population(dsn, orgs[name], sizes[name]))
        log(f"{name}: {sizes[name]} contacts loaded")
        campaigns[name] = common.launch(
            server.address, tokens[name], f"bench {orgs[name]}"
        ).campaign_id
    db = Database(runner, dsn)
    stack.callback(db.close)
    outcomes = {
        name: wait_completed(db, server, cid, sizes[name], 120.0 + common.timeout_for(sizes[name]))
        for name, cid in campaigns.items()
    }
    rows = {name: runner.run(counter_rows(dsn, campaigns[name])) for name in ("small", "large")}
    log(
        "runs complete: "
        + ", ".join(f"{n} {o.messages} messages" for n, o in outcomes.items())
        + f" (setup {time.monotonic() - started:.0f} s)"
    )
    return Prepared(server, tokens, campaigns, outcomes, rows)


def run(emit: Emit, settings: LoadSettings) -> None:
    del settings  # the rates are this scenario's own
    knobs = Knobs.from_env()
    run_id = uuid.uuid4().hex[:8]
    orgs = {name: f"bench-m{name}-{run_id}" for name in ("lag", "small", "large")}
    log = common.logger(SCENARIO)
    with real_stack(run_id, list(orgs.values())) as real:
        runner, stack, dsn, env, prefix = real.runner, real.stack, real.dsn, real.env, real.prefix
        prepared = prepare(stack, runner, env, dsn=dsn, orgs=orgs, sizes=knobs.contacts(), log=log)
        server, campaigns, tokens = prepared.server, prepared.campaigns, prepared.tokens

        reads = read_latencies(
            server.address,
            {name: (campaigns[name], tokens[name]) for name in ("small", "large")},
            knobs.reads,
        )
        ids = runner.run(message_ids(dsn, campaigns["lag"]))
        plan = lag_drive.Plan(orgs["lag"], prefix, run_id, ids, knobs.reports, float(knobs.rate))
        if knobs.reports > len(lag_drive.PHASES) * len(ids):
            raise RuntimeError(f"{knobs.reports} reports need more than {len(ids)} messages")
        log(f"{plan.count} reports at {plan.rate:g}/s to {knobs.subscribers} streams")
        timeline = runner.run(
            lag_drive.drive(
                server.address,
                tokens["lag"],
                campaigns["lag"],
                plan,
                subscribers=knobs.subscribers,
                interval_ms=INTERVAL_MS,
                drain_s=max(DRAIN_S, 3.0 * knobs.seconds),
                log=log,
            )
        )
        rss = server_peak_rss_mb(server.process.pid)
    lags = lag_drive.lags(plan, timeline)
    measured = Measured(
        plan, timeline, lags, reads, prepared, knobs.subscribers, rss, server_workers=real.workers
    )
    for line in lines(measured):
        emit(line)


def lines(m: Measured) -> list[dict[str, Any]]:
    """The three JSON lines: report_to_stream, reports_taken_per_s, get_metrics_at_scale."""
    base = {
        "scenario": SCENARIO,
        "server_workers": m.server_workers,
        "peak_rss_mb": m.peak_rss_mb,
    }
    lag = lag_drive.percentiles_ms(m.lags.seconds)
    span = m.timeline.last_publish - m.timeline.first_publish
    published_per_s = round((m.plan.count - 1) / span, 1) if span > 0 else float("nan")
    stats = {name: _read_stats(m.reads[name]["seconds"]) for name in ("small", "large")}
    ratio = stats["small"]["p50_ms"] / stats["large"]["p50_ms"]
    return [
        {
            **base,
            "metric": "report_to_stream",
            "value": lag["p99_ms"],
            **lag,
            "pairs": len(m.lags.seconds),
            "uncovered_pairs": m.lags.uncovered,
            "reports": m.plan.count,
            "reports_by_kind": m.plan.per_phase(),
            "subscribers": m.subscribers,
            "min_interval_ms": INTERVAL_MS,
            "rate": m.plan.rate,
            "published_per_s": published_per_s,
            "messages": len(m.plan.message_ids),
            "goal_p99_ms": GOAL_P99_MS,
            "goal_met": bool(m.lags.uncovered == 0 and lag["p99_ms"] < GOAL_P99_MS),
        },
        {
            **base,
            "metric": "reports_taken_per_s",
            "value": round(m.lags.taken_per_s, 1),
            "reports_taken": m.lags.taken,
            "reports": m.plan.count,
            "rate": m.plan.rate,
            "published_per_s": published_per_s,
        },
        {
            **base,
            "metric": "get_metrics_at_scale",
            "value": round(ratio, 3),
            "ratio": round(ratio, 3),
            "ratio_is": "small p50 latency / large p50 latency (1.0 = the same cost)",
            "p50_ms": stats["large"]["p50_ms"],
            "p99_ms": stats["large"]["p99_ms"],
            **{
                name: {
                    **stats[name],
                    "messages": m.prepared.outcomes[name].messages,
                    "queued_counter": m.reads[name]["queued"],
                    "counter_rows": m.prepared.counter_rows[name],
                    "breakdown_rows": m.reads[name]["breakdown_rows"],
                }
                for name in ("small", "large")
            },
            "breakdowns": ["variant", "channel", "segment"],
            "goal_ratio": GOAL_READ_RATIO,
            "goal_met": bool(ratio >= GOAL_READ_RATIO),
        },
    ]
