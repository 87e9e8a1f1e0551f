"""Benchmark child servers: ready once they print `listening on HOST:PORT`; stopped by SIGTERM."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from bench import ROOT
from tests.support.server_process import executable, server_env, start_listening
from tests.support.services import POSTGRES_HOST, POSTGRES_PORT, is_listening, postgres_database

# The test harness sets these so tests finish quickly; a benchmark runs on the production defaults.
TEST_ONLY_SETTINGS = ("CAMPAIGN_OUTBOX_POLL_INTERVAL", "CAMPAIGN_HEALTH_PROBE_INTERVAL")


@dataclass
class ChildServer:
    process: subprocess.Popen[str]
    address: str
    output: list[str] = field(default_factory=list)

    def stop(self, timeout: float = 20.0) -> int:
        return stop_process(self.process, timeout)


def start_child_server(command: list[str], env: dict[str, str] | None = None) -> ChildServer:
    """Start `command` in the repository root and wait for its `listening on` line."""
    process, address, output, _ = start_listening(command, env, cwd=ROOT)
    if address is None:
        stop_process(process, 5)
        raise RuntimeError(f"{command} did not start:\n" + "".join(output))
    return ChildServer(process, address, output)


def production_env(data_dir: Path, **settings: str) -> dict[str, str]:
    """The test harness's server environment with `settings`, minus TEST_ONLY_SETTINGS."""
    env = server_env(data_dir, **settings)
    for name in TEST_ONLY_SETTINGS:
        env.pop(name, None)
    return env


def migrate(env: dict[str, str]) -> None:
    subprocess.run([executable(), "migrate"], env=env, check=True, capture_output=True, timeout=120)


@contextlib.contextmanager
def fresh_database(runner: asyncio.Runner | None = None) -> Iterator[str]:
    """tests.support.services.postgres_database (a new database, dropped on exit), entered from
    synchronous code on `runner`, or on a runner of its own."""
    if not is_listening(POSTGRES_HOST, POSTGRES_PORT):
        raise RuntimeError(f"PostgreSQL is not listening on {POSTGRES_HOST}:{POSTGRES_PORT}")
    with contextlib.ExitStack() as stack:
        if runner is None:
            runner = stack.enter_context(asyncio.Runner())
        manager = postgres_database()
        url = runner.run(manager.__aenter__())
        try:
            yield url
        finally:
            # Resume the generator normally: its `finally` drops the database.
            runner.run(manager.__aexit__(None, None, None))


def stop_process(process: subprocess.Popen[str], timeout: float = 20.0) -> int:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            return process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            return process.wait(timeout)
    return process.returncode


def peak_rss_mb(pid: int) -> float | None:
    """The process's peak resident set size (VmHWM) so far, or None when it is gone."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    for line in status.splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024, 1)
    return None


def children(pid: int) -> list[int]:
    """The direct children of `pid` (a supervisor's worker processes); none when it is gone."""
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found += [int(child) for child in (task / "children").read_text().split()]
        except OSError:
            continue
    return found


def descendants(pid: int) -> list[int]:
    """Every process under `pid`: a supervisor's workers and their planning processes."""
    found = children(pid)
    return found + [p for child in found for p in descendants(child)]


def server_peak_rss_mb(pid: int) -> float | None:
    """peak_rss_mb of a server: of the process and of every process under it (a supervisor's
    worker processes, the planning process of a run), summed (each has its own memory)."""
    sizes = [peak_rss_mb(p) for p in (pid, *descendants(pid))]
    known = [size for size in sizes if size is not None]
    return round(sum(known), 1) if known else None
