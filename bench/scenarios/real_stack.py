"""The real stack a scenario runs the server on: a fresh Postgres database, NATS streams and a
subject prefix of its own, Redis limits; all of it removed at the end, whatever happens.

The server runs as production runs it on this machine: with NATS and Redis set, production's
default is one worker process per core (docs/worker-processes.md), so the scenario asks for
BENCH_SERVER_WORKERS (default 2, this machine's cores) explicitly; the test harness's
environment it starts from pins one."""

from __future__ import annotations

import asyncio
import contextlib
import os
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import uvloop

from bench.processes import fresh_database, migrate
from bench.scenarios import execute_common as common
from bench.scenarios.execute import NATS_URL, REDIS_URL, delete_limiter_keys, delete_streams

DEFAULT_WORKERS = 2


def server_workers() -> int:
    """BENCH_SERVER_WORKERS: the server's worker processes (1 = the single process)."""
    raw = os.environ.get("BENCH_SERVER_WORKERS", "").strip()
    value = int(raw) if raw else DEFAULT_WORKERS
    if not 1 <= value <= 64:
        raise ValueError("BENCH_SERVER_WORKERS must be in [1, 64]")
    return value


@dataclass(frozen=True)
class RealStack:
    runner: asyncio.Runner
    stack: contextlib.ExitStack  # for the scenario's own cleanups (its server's stop)
    dsn: str  # the database, for asyncpg
    env: dict[str, str]  # the server's environment
    prefix: str  # of every subject of the run
    workers: int  # the server's worker processes


@contextlib.contextmanager
def real_stack(run_id: str, organizations: Sequence[str]) -> Iterator[RealStack]:
    """The stack of run `run_id`, migrated; the organizations' limiter keys are deleted at the
    end with the database and the streams."""
    prefix = f"bench.{run_id}."
    workers = server_workers()
    streams = [f"BENCH_DLV_{run_id}", f"BENCH_EV_{run_id}", f"BENCH_IN_{run_id}"]
    with contextlib.ExitStack() as stack:
        runner = stack.enter_context(asyncio.Runner(loop_factory=uvloop.new_event_loop))
        url = stack.enter_context(fresh_database(runner))
        data_dir = stack.enter_context(tempfile.TemporaryDirectory(prefix=f"bench-{run_id}-"))
        env = common.bench_server_env(
            Path(data_dir),
            CAMPAIGN_DATABASE_URL=url,
            CAMPAIGN_NATS_URL=NATS_URL,
            CAMPAIGN_NATS_STREAM=streams[1],
            CAMPAIGN_NATS_DELIVERY_STREAM=streams[0],
            CAMPAIGN_NATS_INBOUND_STREAM=streams[2],
            CAMPAIGN_NATS_SUBJECT_PREFIX=prefix,
            CAMPAIGN_REDIS_URL=REDIS_URL,
            CAMPAIGN_SERVER_WORKERS=str(workers),
        )
        stack.callback(lambda: runner.run(delete_streams(streams)))
        for organization in organizations:
            stack.callback(delete_limiter_keys, organization)
        migrate(env)
        dsn = url.replace("postgresql+asyncpg://", "postgresql://")
        yield RealStack(runner, stack, dsn, env, prefix, workers)
