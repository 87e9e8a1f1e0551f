"""Closed-loop unary gRPC load from several client processes, aggregated in the parent.

One client process cannot saturate a server that answers faster than a Python gRPC client's own
CPU cost per call (docs/performance.md). `run_load` starts `settings.clients` worker processes
(`python -m bench.loadgen`), each keeping its share of `settings.concurrency` calls in flight as
asyncio tasks over grpc.aio channels. Requests are pre-serialized bytes and responses are not
parsed, so the client costs the same for the baseline and for every real RPC.

Protocol between parent and worker (one line each, on the worker's stdin/stdout):
  parent -> worker: the JSON config       worker -> parent: "ready" once its requests are built
  parent -> worker: "go <t0>"             worker: connects, sleeps until t0 (time.monotonic, which
                                          is one system-wide clock on Linux), warms up for
                                          warmup_s, measures for duration_s, writes a JSON result
                                          to config["result_path"] and exits.
Every worker measures the same wall-clock window, so the parent can add up their counts.
"""

from __future__ import annotations

import asyncio
import importlib
import itertools
import json
import math
import os
import select
import subprocess
import sys
import tempfile
import threading
import time
from array import array
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
import uvloop

from bench import ROOT
from bench.cpu import tree_cpu_seconds

CONNECT_TIMEOUT_S = 20.0
READY_TIMEOUT_S = 60.0  # worker start-up: interpreter, grpc import, request factory
CALL_TIMEOUT_S = 10.0
MAX_CALLS_PER_TASK = 1_000_000  # a hard count bound on top of the time bound
MAX_DURATION_S = 600.0

# factory(params, worker_index) -> next_request(sequence_number) -> serialized request
RequestFactory = Callable[[dict[str, Any], int], Callable[[int], bytes]]


class LoadError(RuntimeError):
    """The load generator could not run (a worker failed to start, connect or report)."""


@dataclass(frozen=True)
class LoadSettings:
    duration_s: float = 10.0
    warmup_s: float = 2.0
    concurrency: int = 50
    clients: int = 2
    channels_per_client: int = 1

    @classmethod
    def from_env(cls) -> LoadSettings:
        """BENCH_DURATION, BENCH_WARMUP, BENCH_CONCURRENCY, BENCH_CLIENTS override the defaults."""
        settings = cls(
            duration_s=_env_float("BENCH_DURATION", cls.duration_s),
            warmup_s=_env_float("BENCH_WARMUP", cls.warmup_s),
            concurrency=int(_env_float("BENCH_CONCURRENCY", cls.concurrency)),
            clients=int(_env_float("BENCH_CLIENTS", cls.clients)),
        )
        if not 0 < settings.duration_s <= MAX_DURATION_S:
            raise ValueError(f"BENCH_DURATION must be in (0, {MAX_DURATION_S:g}] seconds")
        if not 0 <= settings.warmup_s <= MAX_DURATION_S:
            raise ValueError(f"BENCH_WARMUP must be in [0, {MAX_DURATION_S:g}] seconds")
        if not 1 <= settings.clients <= settings.concurrency <= 10_000:
            raise ValueError("need 1 <= BENCH_CLIENTS <= BENCH_CONCURRENCY <= 10000")
        return settings


def _env_float(name: str, default: float) -> float:
    raw = os.environ.get(name, "").strip()
    try:
        return float(raw) if raw else default
    except ValueError:
        raise ValueError(f"{name} must be a number, got {raw!r}") from None


@dataclass
class LoadResult:
    """Aggregate of all workers over the common measuring window."""

    duration_s: float
    concurrency: int
    requests: int  # successful calls that completed inside the window
    errors: int  # failed calls that completed inside the window
    latencies_ms: list[float]  # of the successful calls, sorted
    error_codes: dict[str, int] = field(default_factory=dict)
    first_error: str = ""
    server_cpu_s: float | None = None  # CPU of the watched process tree over the window

    @property
    def rps(self) -> float:
        return self.requests / self.duration_s

    @property
    def server_cpu_us_per_call(self) -> float | None:
        """Server CPU per call that completed in the window (failed ones included)."""
        calls = self.requests + self.errors
        if self.server_cpu_s is None or not calls:
            return None
        return self.server_cpu_s / calls * 1e6

    def percentile_ms(self, p: float) -> float:
        """Nearest-rank percentile; NaN when no call succeeded."""
        if not self.latencies_ms:
            return math.nan
        rank = max(1, math.ceil(p / 100 * len(self.latencies_ms)))
        return self.latencies_ms[rank - 1]


def run_load(
    target: str,
    method: str,
    *,
    factory: str,
    params: dict[str, Any],
    metadata: list[tuple[str, str]],
    settings: LoadSettings,
    cpu_of: int | None = None,
) -> LoadResult:
    """Drive `method` on `target` with requests from `factory` ("module:function").

    With `cpu_of` (the server's pid), the CPU that process and its children used over the
    measuring window is sampled from /proc at the window's start and end (`server_cpu_s`)."""
    shares = [
        settings.concurrency // settings.clients + (i < settings.concurrency % settings.clients)
        for i in range(settings.clients)
    ]
    workers: list[subprocess.Popen[str]] = []
    sampler: _CpuSampler | None = None
    with tempfile.TemporaryDirectory(prefix="bench-load-") as tmp:
        try:
            for index, share in enumerate(shares):
                config = {
                    "target": target,
                    "method": method,
                    "factory": factory,
                    "params": params,
                    "metadata": metadata,
                    "worker": index,
                    "concurrency": share,
                    "channels": min(settings.channels_per_client, share),
                    "warmup_s": settings.warmup_s,
                    "duration_s": settings.duration_s,
                    "result_path": str(Path(tmp) / f"worker-{index}.json"),
                }
                workers.append(_spawn_worker(config))
            deadline = time.monotonic() + READY_TIMEOUT_S
            for worker in workers:
                _expect_line(worker, "ready", deadline)
            t0 = time.monotonic() + 0.2
            window_start = t0 + settings.warmup_s
            if cpu_of is not None:
                sampler = _CpuSampler(cpu_of, window_start, window_start + settings.duration_s)
                sampler.start()
            for worker in workers:
                assert worker.stdin is not None
                worker.stdin.write(f"go {t0!r}\n")
                worker.stdin.close()
            finish_by = t0 + settings.warmup_s + settings.duration_s + CALL_TIMEOUT_S + 30
            for index, worker in enumerate(workers):
                code = worker.wait(timeout=max(1.0, finish_by - time.monotonic()))
                if code != 0:
                    raise LoadError(f"load worker {index} exited with {code}")
            reports = [
                json.loads((Path(tmp) / f"worker-{i}.json").read_text())
                for i in range(len(workers))
            ]
            if sampler is not None:
                sampler.join(5)
        finally:
            for worker in workers:
                if worker.poll() is None:
                    worker.kill()
                    worker.wait(10)
    result = _aggregate(reports, settings)
    if sampler is not None:
        result.server_cpu_s = sampler.cpu_s
    return result


class _CpuSampler(threading.Thread):
    """Reads the server's CPU at the start and at the end of the measuring window."""

    def __init__(self, pid: int, start: float, end: float) -> None:
        super().__init__(daemon=True, name="cpu-sampler")
        self.pid, self.start_at, self.end_at = pid, start, end
        self.cpu_s: float | None = None

    def run(self) -> None:
        time.sleep(max(0.0, self.start_at - time.monotonic()))
        before = tree_cpu_seconds(self.pid)
        time.sleep(max(0.0, self.end_at - time.monotonic()))
        self.cpu_s = tree_cpu_seconds(self.pid) - before


def _spawn_worker(config: dict[str, Any]) -> subprocess.Popen[str]:
    worker = subprocess.Popen(
        [sys.executable, "-m", "bench.loadgen"],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        bufsize=1,
    )
    assert worker.stdin is not None
    worker.stdin.write(json.dumps(config) + "\n")
    worker.stdin.flush()
    return worker


def _expect_line(worker: subprocess.Popen[str], expected: str, deadline: float) -> None:
    assert worker.stdout is not None
    remaining = deadline - time.monotonic()
    readable, _, _ = select.select([worker.stdout], [], [], max(0.0, remaining))
    line = worker.stdout.readline().strip() if readable else ""
    if line != expected:
        raise LoadError(f"load worker said {line!r} instead of {expected!r}")


def _aggregate(reports: list[dict[str, Any]], settings: LoadSettings) -> LoadResult:
    latencies: list[float] = []
    codes: Counter[str] = Counter()
    first_error = ""
    for report in reports:
        latencies.extend(report["latencies_ms"])
        codes.update(report["error_codes"])
        first_error = first_error or report["first_error"]
    latencies.sort()
    return LoadResult(
        duration_s=settings.duration_s,
        concurrency=settings.concurrency,
        requests=len(latencies),
        errors=sum(report["errors"] for report in reports),
        latencies_ms=latencies,
        error_codes=dict(codes),
        first_error=first_error,
    )


# --- worker process -------------------------------------------------------------------------


def load_factory(spec: str) -> RequestFactory:
    module_name, _, function = spec.partition(":")
    factory: RequestFactory = getattr(importlib.import_module(module_name), function)
    return factory


@dataclass
class _Window:
    start: float  # time.monotonic() at which measuring starts (after the warm-up)
    end: float
    latencies_ms: array[float] = field(default_factory=lambda: array("d"))
    errors: int = 0
    error_codes: Counter[str] = field(default_factory=Counter)
    first_error: str = ""


async def _call_loop(
    call: grpc.aio.UnaryUnaryMultiCallable,
    next_request: Callable[[int], bytes],
    sequence: itertools.count[int],
    metadata: tuple[tuple[str, str], ...],
    window: _Window,
) -> None:
    clock = time.monotonic
    for _ in range(MAX_CALLS_PER_TASK):
        started = clock()
        if started >= window.end:
            return
        request = next_request(next(sequence))
        try:
            await call(request, timeout=CALL_TIMEOUT_S, metadata=metadata)
        except grpc.aio.AioRpcError as exc:
            finished = clock()
            if window.start <= finished < window.end:
                window.errors += 1
                window.error_codes[exc.code().name] += 1
                window.first_error = window.first_error or f"{exc.code().name}: {exc.details()}"
            continue
        finished = clock()
        if window.start <= finished < window.end:
            window.latencies_ms.append((finished - started) * 1000)


async def _drive(
    config: dict[str, Any], next_request: Callable[[int], bytes], t0: float
) -> dict[str, Any]:
    channels = [
        # A local subchannel pool gives each channel its own HTTP/2 connection.
        grpc.aio.insecure_channel(config["target"], options=[("grpc.use_local_subchannel_pool", 1)])
        for _ in range(config["channels"])
    ]
    try:
        for channel in channels:
            await asyncio.wait_for(channel.channel_ready(), CONNECT_TIMEOUT_S)
        calls = [channel.unary_unary(config["method"]) for channel in channels]
        await asyncio.sleep(max(0.0, t0 - time.monotonic()))
        start = t0 + config["warmup_s"]
        window = _Window(start=start, end=start + config["duration_s"])
        metadata = tuple((str(k), str(v)) for k, v in config["metadata"])
        sequence = itertools.count()
        tasks = [
            _call_loop(calls[i % len(calls)], next_request, sequence, metadata, window)
            for i in range(config["concurrency"])
        ]
        budget = window.end - time.monotonic() + CALL_TIMEOUT_S + 5
        await asyncio.wait_for(asyncio.gather(*tasks), budget)
    finally:
        for channel in channels:
            await channel.close()
    return {
        "latencies_ms": [round(x, 4) for x in window.latencies_ms],
        "errors": window.errors,
        "error_codes": dict(window.error_codes),
        "first_error": window.first_error,
    }


def worker_main() -> int:
    line = sys.stdin.readline()
    if not line:
        return 1
    config = json.loads(line)
    next_request = load_factory(config["factory"])(config["params"], config["worker"])
    print("ready", flush=True)
    command, _, value = sys.stdin.readline().strip().partition(" ")
    if command != "go":
        return 1  # the parent gave up (closed stdin) before starting
    result = uvloop.run(_drive(config, next_request, float(value)))
    Path(config["result_path"]).write_text(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(worker_main())
