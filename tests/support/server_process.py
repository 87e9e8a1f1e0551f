"""Start `campaign-service serve` as a real process, the way operators run it, and stop it with
SIGTERM. The server binds port 0 and prints its address, so parallel runs never collide."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

ADDRESS_LINE = re.compile(r"listening on (\S+)")
STARTUP_TIMEOUT = 60.0
TEST_SECRET = "e2e-secret-" + "x" * 32


def executable() -> str:
    return shutil.which("campaign-service") or str(
        Path(sys.executable).parent / "campaign-service"
    )


@dataclass
class ServerProcess:
    process: subprocess.Popen[str]
    address: str
    env: dict[str, str]
    output: list[str] = field(default_factory=list)

    def token(self, org: str, role: str = "admin", ttl: int = 3600) -> str:
        result = subprocess.run(
            [executable(), "token", "--org", org, "--role", role, "--ttl", str(ttl)],
            env=self.env,
            capture_output=True,
            text=True,
            check=True,
            timeout=30,
        )
        return result.stdout.strip()

    def stop(self, timeout: float = 20.0) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                return self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                return self.process.wait(timeout)
        return self.process.returncode

    @property
    def log(self) -> str:
        return "".join(self.output)


def server_env(data_dir: Path, **overrides: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CAMPAIGN_")}
    env.update(
        {
            "CAMPAIGN_GRPC_ADDRESS": "127.0.0.1:0",
            "CAMPAIGN_DATA_DIR": str(data_dir),
            "CAMPAIGN_JWT_SECRET": TEST_SECRET,
            "CAMPAIGN_LOG_FORMAT": "json",
            "CAMPAIGN_OUTBOX_POLL_INTERVAL": "0.1",
            "CAMPAIGN_HEALTH_PROBE_INTERVAL": "0.5",
            "CAMPAIGN_SHUTDOWN_GRACE": "2",
        }
    )
    env.update(overrides)
    return env


def start_server(env: dict[str, str]) -> ServerProcess:
    process = subprocess.Popen(
        [executable(), "serve"],
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
        assert process.stdout is not None
        for line in process.stdout:
            output.append(line)
            match = ADDRESS_LINE.search(line)
            if match and not found:
                found.append(match.group(1))
                ready.set()
        ready.set()

    threading.Thread(target=pump, daemon=True).start()
    if not ready.wait(STARTUP_TIMEOUT) or not found:
        process.kill()
        raise RuntimeError("server did not start:\n" + "".join(output))
    server = ServerProcess(process, found[0], env, output)
    wait_until_serving(server.address)
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
