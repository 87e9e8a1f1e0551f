"""Scenario `execute-1m`: a 1,000,000-recipient campaign on Postgres + NATS + Redis.

Setup (not measured): a fresh Postgres database, `campaign-service migrate`, the contacts and the
suppression list COPYed straight into their tables (see execute_common for the population), then
the real `campaign-service serve` process with Redis limits raised out of the way, JetStream
delivery to a stream and subject prefix unique to this run, and the campaign created and
scheduled through the gRPC API.

Measured: from the execution's `started_at` to the last message's `sent_at` (both stamped by the
server, so every message is persisted, published and acknowledged by JetStream in that time);
messages/s over it; the server's peak RSS (VmHWM). Then, with the server stopped, the baseline in
the same run: asyncpg `copy_records_to_table` of the same message rows into a scratch table with
the messages table's columns and indexes, plus stock nats-py `publish_async` (Nats-Msg-Id set) of
the same payloads to a scratch stream; baseline = messages / (copy s + publish s).
Goal from the issue (reported, never asserted): ratio >= 0.75 and peak RSS < 400 MB.

A second line, `messages_per_s_vs_physical`, measures the engine against the physical path
(bench.scenarios.physical_path): the same COPY and the same ack-window publishing, overlapped, in
two processes, so on both cores. Goal (issue #15): ratio >= 0.6 and peak RSS < 400 MB.

BENCH_RECIPIENTS scales the population down for a quick run; BENCH_CAMPAIGN_X=v passes
CAMPAIGN_X=v to the server (e.g. BENCH_CAMPAIGN_DELIVERY_BATCH_SIZE=10000).
Cleanup: the database is dropped, the run's streams deleted, its Redis limiter keys removed.
"""

from __future__ import annotations

import asyncio
import contextlib
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import nats
import orjson
import redis
import uvloop

from adapters.redis.rate_limiter import DEFAULT_PREFIX
from adapters.sql.execution.messages import COLUMNS as MESSAGE_COLUMNS
from bench.loadgen import LoadSettings
from bench.processes import fresh_database, migrate
from bench.scenarios import Emit, physical_path
from bench.scenarios import execute_common as common

DESCRIPTION = "1M-recipient campaign on Postgres + NATS + Redis: messages/s vs raw COPY + publish"
SCENARIO = "execute-1m"
DEFAULT_RECIPIENTS = 1_000_000
NATS_URL = "nats://127.0.0.1:4222"
REDIS_URL = "redis://127.0.0.1:6379/0"
GOAL_RATIO, GOAL_PEAK_RSS_MB = 0.75, 400.0
GOAL_PHYSICAL_RATIO = 0.6
PUBLISH_MAX_PENDING = 4_000  # nats-py's default window, and the server's (adapters.nats)
PUBLISH_TIMEOUT_S = 30.0
COPY_CHUNK = 50_000  # setup only: rows per COPY call when loading contacts


async def load_population(dsn: str, org: str, n: int) -> None:
    now = datetime.now(UTC)
    conn = await asyncpg.connect(dsn)
    try:
        for start in range(0, n, COPY_CHUNK):
            rows = [
                common.contact_row(org, i, now) for i in range(start, min(n, start + COPY_CHUNK))
            ]
            await conn.copy_records_to_table(
                "contacts", records=rows, columns=common.CONTACT_COLUMNS
            )
        await conn.copy_records_to_table(
            "suppressions",
            records=common.suppression_rows(org, n, now),
            columns=common.SUPPRESSION_COLUMNS,
        )
        await conn.copy_records_to_table(
            "contact_attribute_names",
            records=common.attribute_name_rows(org),
            columns=common.ATTRIBUTE_NAME_COLUMNS,
        )
        # Statistics for the audience query, and the load's dirty pages written out now rather
        # than by a checkpoint in the middle of the measured run.
        await conn.execute("ANALYZE contacts; ANALYZE suppressions; CHECKPOINT")
    finally:
        await conn.close()


class Database:
    """The benchmark's own connection, for polling the execution and checking the outcome."""

    def __init__(self, runner: asyncio.Runner, dsn: str) -> None:
        self._runner = runner
        self._conn: asyncpg.Connection = runner.run(asyncpg.connect(dsn))

    def close(self) -> None:
        self._runner.run(self._conn.close())

    def fetchrow(self, query: str, *args: Any) -> asyncpg.Record | None:
        return self._runner.run(self._conn.fetchrow(query, *args))

    def execution(self, campaign_id: str) -> asyncpg.Record | None:
        row = self.fetchrow(
            "SELECT execution_id, status, started_at, counts FROM executions"
            " WHERE campaign_id = $1",
            campaign_id,
        )
        if row is not None and row["status"] in ("failed", "cancelled"):
            raise RuntimeError(f"execution ended {row['status']}: {dict(row)}")
        return row if row is not None and row["status"] == "completed" else None

    def outcome(self, execution: asyncpg.Record) -> common.Outcome:
        totals = self.fetchrow(
            # A batch the executor handed over itself is marked in its handovers row.
            "SELECT count(*) AS messages,"
            " count(*) FILTER (WHERE m.status = 'sent' OR h.status = 'sent') AS sent,"
            " max(coalesce(m.sent_at, h.handed_over_at)) AS last_sent,"
            " max(m.queued_at) AS last_queued"
            " FROM messages m LEFT JOIN handovers h ON h.handover_id = m.handover_id"
            " WHERE m.execution_id = $1",
            execution["execution_id"],
        )
        assert totals is not None
        return common.Outcome(
            execution_id=execution["execution_id"],
            status=execution["status"],
            started_at=execution["started_at"],
            last_sent_at=totals["last_sent"],
            last_queued_at=totals["last_queued"],
            messages=totals["messages"],
            handed_over=totals["sent"],
            counts=orjson.loads(execution["counts"]),
        )


async def stream_messages(stream: str) -> int:
    nc = await nats.connect(NATS_URL, connect_timeout=5, allow_reconnect=False)
    try:
        info = await nc.jetstream().stream_info(stream)
        return int(info.state.messages)
    finally:
        await nc.close()


async def delete_streams(names: list[str]) -> None:
    nc = await nats.connect(NATS_URL, connect_timeout=5, allow_reconnect=False)
    try:
        js = nc.jetstream()
        for name in names:
            with contextlib.suppress(nats.js.errors.NotFoundError):
                await js.delete_stream(name)
    finally:
        await nc.close()


def delete_limiter_keys(org: str) -> None:
    client = redis.Redis.from_url(REDIS_URL, socket_timeout=5)
    try:
        keys = list(client.scan_iter(match=f"{DEFAULT_PREFIX}*{org}*", count=1000))
        if keys:
            client.delete(*keys)
    finally:
        client.close()


# --- the baseline -----------------------------------------------------------------------------


async def baseline_copy(dsn: str, records: list[tuple[Any, ...]]) -> float:
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(
            "CREATE TABLE bench_baseline_messages (LIKE messages INCLUDING ALL); CHECKPOINT"
        )
        started = time.perf_counter()
        await conn.copy_records_to_table(
            "bench_baseline_messages", records=records, columns=MESSAGE_COLUMNS
        )
        elapsed = time.perf_counter() - started
        await conn.execute("DROP TABLE bench_baseline_messages")
        return elapsed
    finally:
        await conn.close()


async def baseline_publish(stream: str, subject: str, payloads: list[tuple[str, bytes]]) -> float:
    nc = await nats.connect(NATS_URL, connect_timeout=5)
    try:
        js = nc.jetstream(timeout=PUBLISH_TIMEOUT_S, publish_async_max_pending=PUBLISH_MAX_PENDING)
        await js.add_stream(name=stream, subjects=[subject], duplicate_window=600.0)
        started = time.perf_counter()
        acks = [
            await js.publish_async(subject, payload, headers={"Nats-Msg-Id": mid})
            for mid, payload in payloads
        ]
        await asyncio.wait_for(asyncio.gather(*acks), PUBLISH_TIMEOUT_S)
        elapsed = time.perf_counter() - started
        info = await js.stream_info(stream)
        if info.state.messages != len(payloads):
            raise RuntimeError(f"baseline stream holds {info.state.messages} != {len(payloads)}")
        return elapsed
    finally:
        await nc.close()


def baseline_inputs(
    expect: common.Expected, launched: common.Launched, org: str, execution_id: str
) -> tuple[list[tuple[Any, ...]], list[tuple[str, bytes]]]:
    """The rows the engine COPYs and the payloads it publishes, built without the engine."""
    now = datetime.now(UTC)
    records: list[tuple[Any, ...]] = []
    payloads: list[tuple[str, bytes]] = []
    cid = launched.campaign_id
    for m in common.baseline_messages(expect, launched, execution_id):
        records.append(
            common.message_record(
                m, org, cid, execution_id, content=orjson.dumps(m.content).decode(), now=now
            )
        )
        payloads.append((m.message_id, common.delivery_payload(m, org, cid, execution_id, now)))
    return records, payloads


# --- the scenario -----------------------------------------------------------------------------


def run(emit: Emit, settings: LoadSettings) -> None:
    n = common.recipients_from_env(DEFAULT_RECIPIENTS)
    run_id = uuid.uuid4().hex[:8]
    org = f"bench-exec-{run_id}"
    prefix = f"bench.{run_id}."
    delivery_stream, events_stream = f"BENCH_DLV_{run_id}", f"BENCH_EV_{run_id}"
    # The run's own inbound stream: its consumers' subjects otherwise join the default one, which
    # outlives the run (and every later run then shares a broker with the dead ones' consumers).
    inbound_stream = f"BENCH_IN_{run_id}"
    baseline_stream, physical_stream = f"BENCH_BASE_{run_id}", f"BENCH_PHYS_{run_id}"
    log = common.logger(SCENARIO)
    with contextlib.ExitStack() as stack:
        runner = stack.enter_context(asyncio.Runner(loop_factory=uvloop.new_event_loop))
        url = stack.enter_context(fresh_database(runner))
        dsn = url.replace("postgresql+asyncpg://", "postgresql://")
        data_dir = stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-exec-"))
        env = common.bench_server_env(
            Path(data_dir),
            CAMPAIGN_DATABASE_URL=url,
            CAMPAIGN_NATS_URL=NATS_URL,
            CAMPAIGN_NATS_STREAM=events_stream,
            CAMPAIGN_NATS_DELIVERY_STREAM=delivery_stream,
            CAMPAIGN_NATS_INBOUND_STREAM=inbound_stream,
            CAMPAIGN_NATS_SUBJECT_PREFIX=prefix,
            CAMPAIGN_REDIS_URL=REDIS_URL,
        )
        stack.callback(
            lambda: runner.run(
                delete_streams(
                    [
                        delivery_stream,
                        events_stream,
                        inbound_stream,
                        baseline_stream,
                        physical_stream,
                    ]
                )
            )
        )
        stack.callback(delete_limiter_keys, org)
        migrate(env)
        started = time.monotonic()
        runner.run(load_population(dsn, org, n))
        setup_s = time.monotonic() - started
        log(f"{n} contacts loaded in {setup_s:.1f} s into {dsn.rsplit('/', 1)[-1]}")

        db = Database(runner, dsn)
        stack.callback(db.close)
        measured = common.measure(
            stack,
            env,
            db,
            log,
            org=org,
            n=n,
            name=f"bench execute {run_id}",
            in_stream=lambda: runner.run(stream_messages(delivery_stream)),
        )
        # The run's streams go before the baseline, which then meets the broker as the run did.
        runner.run(delete_streams([delivery_stream, events_stream, inbound_stream]))

        campaign_run = measured.campaign_run
        records, payloads = baseline_inputs(
            campaign_run.expect, campaign_run.launched, org, measured.outcome.execution_id
        )
        with common.inputs_frozen():
            copy_s = runner.run(baseline_copy(dsn, records))
            publish_s = runner.run(
                baseline_publish(baseline_stream, f"{prefix}base.email", payloads)
            )
        del records, payloads
        runner.run(delete_streams([baseline_stream]))
        broker = physical_path.Broker(
            NATS_URL, physical_stream, f"{prefix}phys.email", PUBLISH_MAX_PENDING
        )

        def inputs() -> tuple[list[tuple[Any, ...]], list[tuple[str, bytes]]]:
            return baseline_inputs(
                campaign_run.expect, campaign_run.launched, org, measured.outcome.execution_id
            )

        physical_s = physical_path.overlapped_seconds(
            dsn, broker, lambda: inputs()[0], lambda: inputs()[1]
        )
        emit(
            common.result(
                SCENARIO,
                measured,
                baseline_timings={"baseline_copy_s": copy_s, "baseline_publish_s": publish_s},
                setup_s=setup_s,
                mode="server process (postgres, nats jetstream, redis)",
                goal_ratio=GOAL_RATIO,
                goal_peak_rss_mb=GOAL_PEAK_RSS_MB,
            )
        )
        emit(vs_physical(measured, physical_s))


def vs_physical(measured: common.Measured, physical_s: float) -> dict[str, Any]:
    """The engine's messages/s against the physical path's, measured in the same run."""
    outcome, peak_rss = measured.outcome, measured.campaign_run.peak_rss_mb
    value = outcome.messages / outcome.seconds
    baseline = outcome.messages / physical_s
    ratio = value / baseline
    return {
        "scenario": SCENARIO,
        "metric": "messages_per_s_vs_physical",
        "value": round(value, 1),
        "baseline": round(baseline, 1),
        "ratio": round(ratio, 3),
        "messages": outcome.messages,
        "seconds": round(outcome.seconds, 3),
        "physical_overlapped_s": round(physical_s, 3),
        "peak_rss_mb": peak_rss,
        "goal_ratio": GOAL_PHYSICAL_RATIO,
        "goal_peak_rss_mb": GOAL_PEAK_RSS_MB,
        "goal_met": bool(ratio >= GOAL_PHYSICAL_RATIO and (peak_rss or 0) < GOAL_PEAK_RSS_MB),
    }
