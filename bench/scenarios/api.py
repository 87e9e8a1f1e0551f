"""Scenario `api`: unary RPCs of the real server under fixed concurrency, against a trivial server.

Setup: a fresh Postgres database, `campaign-service migrate`, `campaign-service serve` on it (log
level WARNING, so the per-RPC access log at INFO is not what gets measured), an admin token and
SEED_CAMPAIGNS campaigns. Then the same load generator drives, in order, the baseline
(`bench.baseline_server`), GetCampaign (a random seeded id), ListCampaigns (page_size 20) and
CreateCampaign (unique names); Create runs last because it grows the table List counts.
Then the same again at HIGH_CONCURRENCY calls in flight (a baseline of its own, lines `*_c200`),
the three RPCs once more against the embedded default, a server on a SQLite file (`*_sqlite`,
against the first baseline), and once more on the real stack as production runs it: Postgres,
NATS and Redis, BENCH_SERVER_WORKERS worker processes (default 2, this machine's cores; lines
`*_workers`, against the first baseline), with WORKER_CHANNELS connections per client process
so the kernel spreads them over the workers (SO_REUSEPORT hashes connections, not calls; the
trivial handler answers the same with 1 or 25 connections). Every line carries the server's CPU
per call (all its processes), from /proc over the measuring window (`bench.cpu`).
The goal lines' server is one process, like the baseline: the same resources on either side
(docs/performance.md). Goals from the issue (reported, never asserted): GOALS, on the first
Postgres lines.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import random
import sys
import tempfile
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import grpc
from campaign.v1 import campaign_pb2, campaign_service_pb2, campaign_service_pb2_grpc

from bench import baseline_server
from bench.loadgen import LoadResult, LoadSettings, run_load
from bench.processes import fresh_database, migrate, peak_rss_mb, production_env, start_child_server
from bench.scenarios import Emit
from bench.scenarios.real_stack import real_stack
from tests.support.server_process import ServerProcess, start_server

DESCRIPTION = "GetCampaign / ListCampaigns / CreateCampaign rps and latency vs a trivial server"
SCENARIO = "api"
ORG = "org-bench"
SEED_CAMPAIGNS = 200
LIST_PAGE_SIZE = 20
HIGH_CONCURRENCY = 200
WORKER_CHANNELS = 25  # connections per load client process against the worker processes
# Goals from the issue (reported, never asserted): ratio to the baseline and p99 in ms.
GOALS = {
    "GetCampaign": (0.5, 50.0),
    "ListCampaigns": (0.25, 100.0),
    "CreateCampaign": (0.25, 100.0),
}
SERVICE = "/campaign.v1.CampaignService/"
# metric, method, request factory, key of its parameters; Create runs last because it grows the
# table List counts.
CASES = (
    ("get_campaign_rps", "GetCampaign", "get_requests", "get"),
    ("list_campaigns_rps", "ListCampaigns", "list_requests", "list"),
    ("create_campaign_rps", "CreateCampaign", "create_requests", "create"),
)


# --- request factories, run inside the load worker processes (see bench.loadgen) -------------


def campaign_request(name: str) -> campaign_service_pb2.CreateCampaignRequest:
    """A complete scheduled email campaign, the common case."""
    return campaign_service_pb2.CreateCampaignRequest(
        name=name,
        description="Benchmark campaign",
        campaign_type=campaign_pb2.CAMPAIGN_TYPE_SCHEDULED,
        audiences=[
            campaign_pb2.Audience(
                segment_type=campaign_pb2.SEGMENT_TYPE_INCLUDE, segment_id="seg-bench"
            )
        ],
        channels=[
            campaign_pb2.ChannelContent(
                channel=campaign_pb2.CHANNEL_EMAIL,
                email=campaign_pb2.EmailContent(
                    subject="Hello {{ first_name }}",
                    html_body="<p>Hi {{ first_name }}, our spring sale starts today.</p>",
                ),
            )
        ],
        tags=["bench", "spring"],
        metadata={"source": "bench"},
    )


def get_requests(params: dict[str, Any], worker: int) -> Callable[[int], bytes]:
    encoded = [
        campaign_service_pb2.GetCampaignRequest(campaign_id=i).SerializeToString()
        for i in params["ids"]
    ]
    rng = random.Random(params["seed"] * 1000 + worker)
    return lambda _sequence: encoded[rng.randrange(len(encoded))]


def list_requests(params: dict[str, Any], worker: int) -> Callable[[int], bytes]:
    encoded = campaign_service_pb2.ListCampaignsRequest(
        page_size=params["page_size"]
    ).SerializeToString()
    return lambda _sequence: encoded


def create_requests(params: dict[str, Any], worker: int) -> Callable[[int], bytes]:
    prefix = f"bench {params['run']} w{worker} #"
    return lambda sequence: campaign_request(f"{prefix}{sequence}").SerializeToString()


def baseline_requests(params: dict[str, Any], worker: int) -> Callable[[int], bytes]:
    """The same bytes a GetCampaign call sends, so the request side is identical."""
    return get_requests(params, worker)


# --- the scenario ----------------------------------------------------------------------------


def seed(address: str, metadata: list[tuple[str, str]], run: str) -> list[str]:
    """Create SEED_CAMPAIGNS campaigns and check Get and List answer as the benchmark expects."""
    with grpc.insecure_channel(address) as channel:
        stub = campaign_service_pb2_grpc.CampaignServiceStub(channel)
        ids = [
            stub.CreateCampaign(
                campaign_request(f"seed {run} #{i}"), metadata=metadata, timeout=10
            ).campaign.campaign_id
            for i in range(SEED_CAMPAIGNS)
        ]
        got = stub.GetCampaign(
            campaign_service_pb2.GetCampaignRequest(campaign_id=ids[0]),
            metadata=metadata,
            timeout=10,
        )
        page = stub.ListCampaigns(
            campaign_service_pb2.ListCampaignsRequest(page_size=LIST_PAGE_SIZE),
            metadata=metadata,
            timeout=10,
        )
    if got.campaign.campaign_id != ids[0] or len(page.campaigns) != LIST_PAGE_SIZE:
        raise RuntimeError(f"seeding check failed: get={got.campaign.campaign_id!r}, {page=}")
    return ids


def line(
    metric: str,
    result: LoadResult,
    baseline: LoadResult,
    settings: LoadSettings,
    server_pid: int,
    *,
    engine: str,
) -> dict[str, Any]:
    out: dict[str, Any] = {
        "scenario": SCENARIO,
        "metric": metric,
        "engine": engine,
        "value": round(result.rps, 1),
        "baseline": round(baseline.rps, 1),
        "ratio": round(result.rps / baseline.rps, 3) if baseline.rps else None,
        "p50_ms": _ms(result.percentile_ms(50)),
        "p99_ms": _ms(result.percentile_ms(99)),
        "baseline_p50_ms": _ms(baseline.percentile_ms(50)),
        "baseline_p99_ms": _ms(baseline.percentile_ms(99)),
        "server_cpu_us_per_call": _us(result.server_cpu_us_per_call),
        "baseline_cpu_us_per_call": _us(baseline.server_cpu_us_per_call),
        "concurrency": settings.concurrency,
        "connections_per_client": settings.channels_per_client,
        "duration_s": settings.duration_s,
        "errors": result.errors,
        "requests": result.requests,
        "server_peak_rss_mb": peak_rss_mb(server_pid),
    }
    if result.errors:
        out["error_codes"] = result.error_codes
        out["first_error"] = result.first_error
    return out


def _ms(value: float) -> float | None:
    return None if math.isnan(value) else round(value, 2)  # NaN: no call succeeded -> null


def _us(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def with_goal(out: dict[str, Any], goal_ratio: float, goal_p99_ms: float) -> dict[str, Any]:
    out["goal_ratio"], out["goal_p99_ms"] = goal_ratio, goal_p99_ms
    out["meets_goal"] = bool(
        out["ratio"] is not None
        and out["ratio"] >= goal_ratio
        and out["p99_ms"] is not None
        and out["p99_ms"] < goal_p99_ms
    )
    return out


def measure_baseline(
    emit: Emit,
    settings: LoadSettings,
    metadata: list[tuple[str, str]],
    read_params: dict[str, Any],
    suffix: str,
) -> LoadResult:
    """The trivial server under `settings`, started for this measurement only."""
    trivial = start_child_server([sys.executable, "-m", "bench.baseline_server"])
    try:
        baseline = run_load(
            trivial.address,
            baseline_server.METHOD,
            factory=f"{__name__}:baseline_requests",
            params=read_params,
            metadata=metadata,
            settings=settings,
            cpu_of=trivial.process.pid,
        )
        baseline_rss = peak_rss_mb(trivial.process.pid)
    finally:
        trivial.stop()
    emit(
        {
            **line(
                "baseline_rps" + suffix,
                baseline,
                baseline,
                settings,
                trivial.process.pid,
                engine="none",
            ),
            "server_peak_rss_mb": baseline_rss,
        }
    )
    return baseline


def measure_rpcs(
    emit: Emit,
    server: ServerProcess,
    engine: str,
    settings: LoadSettings,
    baseline: LoadResult,
    *,
    params: dict[str, Any],
    suffix: str,
    goals: bool,
) -> None:
    """GetCampaign, ListCampaigns and CreateCampaign on `server`, each against `baseline`."""
    for metric, method, factory, key in CASES:
        result = run_load(
            server.address,
            SERVICE + method,
            factory=f"{__name__}:{factory}",
            params=params[key],
            metadata=params["metadata"],
            settings=settings,
            cpu_of=server.process.pid,
        )
        out = line(metric + suffix, result, baseline, settings, server.process.pid, engine=engine)
        emit(with_goal(out, *GOALS[method]) if goals else out)


def start_seeded(
    stack: contextlib.ExitStack, env: dict[str, str], run_id: str, engine: str
) -> tuple[ServerProcess, dict[str, Any]]:
    server = start_server(env)
    stack.callback(server.stop)
    metadata = [("authorization", f"Bearer {server.token(ORG, 'admin')}")]
    ids = seed(server.address, metadata, f"{run_id} {engine}")
    print(f"[api] {engine} server {server.address}, {len(ids)} campaigns seeded", file=sys.stderr)
    params = {
        "metadata": metadata,
        "get": {"ids": ids, "seed": 1},
        "list": {"page_size": LIST_PAGE_SIZE},
        "create": {"run": f"{run_id}-{engine}"},
    }
    return server, params


def run(emit: Emit, settings: LoadSettings) -> None:
    run_id = uuid.uuid4().hex[:8]
    crowded = dataclasses.replace(settings, concurrency=HIGH_CONCURRENCY)
    with contextlib.ExitStack() as stack:
        url = stack.enter_context(fresh_database())
        data_dir = stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-api-"))
        env = production_env(
            Path(data_dir) / "postgres", CAMPAIGN_DATABASE_URL=url, CAMPAIGN_LOG_LEVEL="WARNING"
        )
        migrate(env)
        server, params = start_seeded(stack, env, run_id, "postgres")
        baseline = measure_baseline(emit, settings, params["metadata"], params["get"], "")
        measure_rpcs(
            emit, server, "postgres", settings, baseline, params=params, suffix="", goals=True
        )
        if crowded.concurrency != settings.concurrency:
            crowded_baseline = measure_baseline(
                emit, crowded, params["metadata"], params["get"], "_c200"
            )
            measure_rpcs(
                emit,
                server,
                "postgres",
                crowded,
                crowded_baseline,
                params=params,
                suffix="_c200",
                goals=False,
            )
        server.stop()

        # Production's shape: the real stack, one worker process per core.
        with real_stack(run_id, [ORG]) as real:
            server, params = start_seeded(real.stack, real.env, run_id, "workers")
            spread = dataclasses.replace(settings, channels_per_client=WORKER_CHANNELS)
            measure_rpcs(
                emit,
                server,
                f"postgres, {real.workers} worker processes",
                spread,
                baseline,
                params=params,
                suffix="_workers",
                goals=False,
            )
            server.stop()

        # The embedded default: no database URL, so a SQLite file in the data directory.
        sqlite_env = production_env(Path(data_dir) / "sqlite", CAMPAIGN_LOG_LEVEL="WARNING")
        server, params = start_seeded(stack, sqlite_env, run_id, "sqlite")
        measure_rpcs(
            emit, server, "sqlite", settings, baseline, params=params, suffix="_sqlite", goals=False
        )
