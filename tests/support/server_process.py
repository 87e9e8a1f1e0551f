"""Start `campaign-service serve` as a real process, the way operators run it, and stop it with
SIGTERM. The server binds port 0 and prints its address, so parallel runs never collide."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from tests.support.migrated import entered_in_own_loop, migrated_postgres_url
from tests.support.services import POSTGRES_HOST, POSTGRES_PORT, postgres_database, require

ADDRESS_LINE = re.compile(r"listening on (\S+)")
HTTP_ADDRESS_LINE = re.compile(r"^http on (\S+)", re.MULTILINE)
STARTUP_TIMEOUT = 60.0
CLI_TIMEOUT = 60.0
TEST_SECRET = "e2e-secret-" + "x" * 32
SHUTDOWN_GRACE = 2.0
# The virtualenv's bin directory holds `campaign-service` and the `grpcurl` binary; tests put it
# first on PATH so they run this checkout's tools, whatever the caller's PATH says.
TOOLS_DIR = Path(sys.prefix) / "bin"


def executable(name: str = "campaign-service") -> str:
    return str(TOOLS_DIR / name)


def with_tools_on_path(env: dict[str, str]) -> dict[str, str]:
    path = env.get("PATH", "")
    if path.split(os.pathsep)[:1] != [str(TOOLS_DIR)]:
        env["PATH"] = os.pathsep.join(p for p in (str(TOOLS_DIR), path) if p)
    return env


@dataclass
class ServerProcess:
    process: subprocess.Popen[str]
    address: str
    env: dict[str, str]
    output: list[str] = field(default_factory=list)
    reader: threading.Thread | None = None

    def token(self, org: str, role: str = "admin", ttl: int = 3600) -> str:
        """A token printed by `campaign-service token` for this server's configuration."""
        result = run_cli(self.env, "token", "--org", org, "--role", role, "--ttl", str(ttl))
        if result.returncode != 0:
            raise RuntimeError(f"`campaign-service token` failed:\n{result.stderr}")
        return result.stdout.strip()

    def wait(self, timeout: float) -> int:
        """Exit code, once the process has exited and all of its output has been read."""
        code = self.process.wait(timeout)
        if self.reader is not None:
            self.reader.join(5)
        return code

    def stop(self, timeout: float = 20.0) -> int:
        """SIGTERM, then wait; SIGKILL only if the process ignores SIGTERM for `timeout`."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                return self.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
        return self.wait(timeout)

    @property
    def log(self) -> str:
        return "".join(self.output)

    @property
    def http_address(self) -> str:
        """host:port of the HTTP server (tracking links, /healthz, /metrics), from the banner."""
        match = HTTP_ADDRESS_LINE.search(self.log)
        if match is None:
            raise RuntimeError("the banner names no http address:\n" + self.log)
        return match.group(1)


def server_env(data_dir: Path, **overrides: str) -> dict[str, str]:
    """The caller's environment minus every CAMPAIGN_* variable, plus a test configuration."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CAMPAIGN_")}
    env.update(
        {
            "CAMPAIGN_GRPC_ADDRESS": "127.0.0.1:0",
            "CAMPAIGN_HTTP_ADDRESS": "127.0.0.1:0",
            "CAMPAIGN_DATA_DIR": str(data_dir),
            "CAMPAIGN_JWT_SECRET": TEST_SECRET,
            "CAMPAIGN_LOG_FORMAT": "json",
            "CAMPAIGN_OUTBOX_POLL_INTERVAL": "0.1",
            "CAMPAIGN_HEALTH_PROBE_INTERVAL": "0.5",
            "CAMPAIGN_SHUTDOWN_GRACE": str(SHUTDOWN_GRACE),
            # A crash in native code (gRPC, protobuf, a driver) leaves each thread's traceback.
            "PYTHONFAULTHANDLER": "1",
            # One process whatever the machine's cores: tests that want a supervisor and its
            # workers ask for them (tests/e2e/test_worker_processes.py).
            "CAMPAIGN_SERVER_WORKERS": "1",
        }
    )
    env.update(overrides)
    return with_tools_on_path(env)


def run_cli(
    env: dict[str, str], *args: str, timeout: float = CLI_TIMEOUT
) -> subprocess.CompletedProcess[str]:
    """Run `campaign-service ARGS...` to completion (a hung command raises TimeoutExpired)."""
    return subprocess.run(
        [executable(), *args],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=timeout,
    )


def migrate(env: dict[str, str]) -> str:
    result = run_cli(env, "migrate")
    if result.returncode != 0:
        raise RuntimeError(f"`campaign-service migrate` failed:\n{result.stdout}{result.stderr}")
    return result.stdout


def start_listening(
    command: list[str], env: dict[str, str] | None, *, cwd: Path | None = None
) -> tuple[subprocess.Popen[str], str | None, list[str], threading.Thread]:
    """Start `command` and wait (up to STARTUP_TIMEOUT) for its `listening on ADDRESS` line.

    Returns the process, the address (None when it exited or timed out first), the output
    list (still growing) and the thread that keeps draining it, so a chatty child never blocks
    on a full pipe. What to do when the address is None is the caller's."""
    process = subprocess.Popen(
        command,
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        bufsize=1,
    )
    output: list[str] = []
    found: list[str] = []
    ready = threading.Event()

    def pump() -> None:
        # Keeps draining after startup too: a full pipe would block the server's logging.
        assert process.stdout is not None
        for line in process.stdout:
            output.append(line)
            match = ADDRESS_LINE.search(line)
            if match and not found:
                found.append(match.group(1))
                ready.set()
        ready.set()

    reader = threading.Thread(target=pump, daemon=True, name="server-output")
    reader.start()
    if not ready.wait(STARTUP_TIMEOUT) or not found:
        return process, None, output, reader
    return process, found[0], output, reader


def start_server(env: dict[str, str]) -> ServerProcess:
    process, address, output, reader = start_listening([executable(), "serve"], env)
    if address is None:
        process.kill()
        code = process.wait(10)
        raise RuntimeError(f"server did not start (exit code {code}):\n" + "".join(output))
    server = ServerProcess(process, address, env, output, reader)
    try:
        wait_until_serving(server.address)
    except RuntimeError:
        server.stop()
        raise
    return server


def wait_until_serving(address: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    with grpc.insecure_channel(address) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        while True:
            try:
                reply = stub.Check(health_pb2.HealthCheckRequest(service=""), timeout=2)
                if reply.status == health_pb2.HealthCheckResponse.SERVING:
                    return
            except grpc.RpcError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"{address} never reported SERVING")
            time.sleep(0.1)


def fresh_postgres_database() -> AbstractContextManager[str]:
    """`postgres_database()` for synchronous fixtures: a new database, dropped on exit."""
    require(POSTGRES_HOST, POSTGRES_PORT, "PostgreSQL")  # a failure in CI, a skip locally
    return entered_in_own_loop(postgres_database())


@contextmanager
def backend_env(kind: str, data_dir: Path, *, migrated: bool = True) -> Iterator[dict[str, str]]:
    """Server environment on an empty store: "sqlite" (embedded, migrates itself on start) or
    "postgres" (a fresh database, `campaign-service migrate`d unless `migrated` is False)."""
    if kind == "sqlite":
        yield server_env(data_dir)
        return
    if kind != "postgres":
        raise ValueError(f"unknown backend {kind!r}")
    if migrated:  # as `campaign-service migrate` leaves it (tests.support.migrated)
        with migrated_postgres_url() as url:
            yield server_env(data_dir, CAMPAIGN_DATABASE_URL=url)
        return
    with fresh_postgres_database() as url:
        yield server_env(data_dir, CAMPAIGN_DATABASE_URL=url)
