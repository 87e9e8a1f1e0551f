"""NATS helpers for the tests: per-run stream names, a JetStream reader, a private nats-server.

The shared server on 4222 is reused by every run and every developer, so tests there only ever
touch a stream and subjects named for this run, and delete the stream afterwards. Tests that take
a broker down start their own nats-server on a free port and kill that one.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import subprocess
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nats
import orjson
import pytest
from nats.aio.client import Client
from nats.errors import TimeoutError as NatsTimeoutError
from nats.js import JetStreamContext
from nats.js.errors import NotFoundError

from tests.support.services import free_port, is_listening, require

SHARED_NATS_HOST, SHARED_NATS_PORT = "127.0.0.1", 4222
SHARED_NATS_URL = f"nats://{SHARED_NATS_HOST}:{SHARED_NATS_PORT}"
NATS_SERVER_BINARY = "/usr/sbin/nats-server"
WAIT_SECONDS = 20.0


@dataclass(frozen=True)
class StreamNames:
    """A stream and a subject prefix nobody else uses, so runs never see each other's events."""

    stream: str
    prefix: str

    @classmethod
    def fresh(cls) -> StreamNames:
        token = uuid.uuid4().hex[:12]
        return cls(stream=f"TEST_CAMPAIGN_{token.upper()}", prefix=f"test.{token}.")

    @property
    def subjects(self) -> str:
        return f"{self.prefix}>"

    def server_settings(self, nats_url: str) -> dict[str, str]:
        """A server's CAMPAIGN_NATS_* settings on these names: its streams (events, delivery
        requests, inbound) and subjects are this test's own."""
        return {
            "CAMPAIGN_NATS_URL": nats_url,
            "CAMPAIGN_NATS_STREAM": f"{self.stream}_EVENTS",
            "CAMPAIGN_NATS_DELIVERY_STREAM": self.stream,
            "CAMPAIGN_NATS_INBOUND_STREAM": f"{self.stream}_IN",
            "CAMPAIGN_NATS_SUBJECT_PREFIX": self.prefix,
        }


@dataclass(frozen=True)
class Received:
    """One message as a JetStream consumer saw it."""

    subject: str
    message_id: str | None  # the Nats-Msg-Id header
    envelope: dict[str, Any]


def shared_nats_url() -> str:
    """The shared server, or a failure in CI (a skip locally) when it is not running."""
    require(SHARED_NATS_HOST, SHARED_NATS_PORT, "NATS")
    return SHARED_NATS_URL


@asynccontextmanager
async def connection(url: str) -> AsyncIterator[Client]:
    nc = await asyncio.wait_for(nats.connect(url, connect_timeout=2, allow_reconnect=False), 10)
    try:
        yield nc
    finally:
        with contextlib.suppress(Exception):
            await nc.close()


async def delete_stream(url: str, stream: str) -> None:
    """Best effort: a test that never got as far as creating its stream has nothing to delete."""
    with contextlib.suppress(NotFoundError):
        async with connection(url) as nc:
            await nc.jetstream(timeout=5).delete_stream(stream)


async def stream_message_count(js: JetStreamContext, stream: str) -> int:
    return (await js.stream_info(stream)).state.messages


class JetStreamReader:
    """A pull consumer over a stream from its first message; acks what it reads."""

    def __init__(self, js: JetStreamContext, names: StreamNames) -> None:
        self._js = js
        self._names = names
        self._subscription: JetStreamContext.PullSubscription | None = None
        self.received: list[Received] = []

    @property
    def js(self) -> JetStreamContext:
        return self._js

    async def take(self, count: int, *, within: float = WAIT_SECONDS) -> list[Received]:
        """The next `count` messages; fails when they do not all arrive `within` seconds."""
        taken: list[Received] = []
        deadline = time.monotonic() + within
        while len(taken) < count:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                pytest.fail(f"expected {count} messages, got {len(taken)} in {within} s")
            taken += await self._fetch(count - len(taken), min(remaining, 1.0))
        return taken

    async def take_all(self, *, quiet: float = 0.5) -> list[Received]:
        """Everything available now: reads until nothing arrives for `quiet` seconds."""
        taken: list[Received] = []
        while batch := await self._fetch(256, quiet):
            taken += batch
        return taken

    async def _fetch(self, batch: int, wait: float) -> list[Received]:
        if self._subscription is None:
            self._subscription = await self._js.pull_subscribe(
                self._names.subjects, stream=self._names.stream
            )
        try:
            messages = await self._subscription.fetch(batch, timeout=max(wait, 0.05))
        except (TimeoutError, NatsTimeoutError):
            return []
        taken = []
        for message in messages:
            await message.ack()
            headers = message.headers or {}
            taken.append(
                Received(message.subject, headers.get("Nats-Msg-Id"), orjson.loads(message.data))
            )
        self.received += taken
        return taken


def assert_each_exactly_once(received: list[Received], expected_ids: set[str]) -> None:
    counts = Counter(r.envelope["event_id"] for r in received)
    duplicates = {event_id: n for event_id, n in counts.items() if n > 1}
    assert duplicates == {}, f"delivered more than once: {duplicates}"
    assert set(counts) == expected_ids, (
        f"missing {sorted(expected_ids - set(counts))[:5]}, "
        f"unexpected {sorted(set(counts) - expected_ids)[:5]}"
    )
    assert all(r.message_id == r.envelope["event_id"] for r in received)


class PrivateNatsServer:
    """A nats-server with JetStream that only this test uses; restartable on its port and store."""

    def __init__(self, workdir: Path) -> None:
        binary = shutil.which("nats-server") or NATS_SERVER_BINARY
        if not Path(binary).exists():
            message = "nats-server is not installed"
            if os.environ.get("CI"):
                pytest.fail(f"{message}; CI must provide it", pytrace=False)
            pytest.skip(message)
        self.binary = binary
        self.port = free_port()
        self.store_dir = workdir / "jetstream"
        self.log_file = workdir / "nats-server.log"
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    async def start(self, *, ready_within: float = 10.0) -> None:
        """Start (or restart, same port and store) and wait until it accepts connections."""
        assert not self.running
        self._process = subprocess.Popen(  # noqa: ASYNC220 - returns at once
            [
                self.binary,
                *("-a", "127.0.0.1", "-p", str(self.port), "-js"),
                *("-sd", str(self.store_dir), "-l", str(self.log_file)),
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + ready_within
        while not is_listening("127.0.0.1", self.port, timeout=0.2):
            if self._process.poll() is not None or time.monotonic() > deadline:
                self.kill_now()
                pytest.fail(f"private nats-server did not start; see {self.log_file}")
            await asyncio.sleep(0.05)

    def freeze(self) -> None:
        """SIGSTOP: connections stay open but nothing answers, like a stalled broker."""
        assert self._process is not None
        self._process.send_signal(signal.SIGSTOP)
        # Delivery is asynchronous: wait until every thread is stopped, or the next request
        # may still be answered.
        threads = Path(f"/proc/{self._process.pid}/task")
        deadline = time.monotonic() + 5
        while any(
            (thread / "stat").read_text().rsplit(")", 1)[1].split()[0] != "T"
            for thread in threads.iterdir()
        ):
            if time.monotonic() > deadline:
                pytest.fail("nats-server did not stop on SIGSTOP")
            time.sleep(0.01)

    def thaw(self) -> None:
        assert self._process is not None
        self._process.send_signal(signal.SIGCONT)

    async def kill(self) -> None:
        """SIGKILL, like a crashed broker; returns once the port is closed."""
        await asyncio.to_thread(self.kill_now)

    def kill_now(self) -> None:
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGKILL)  # also ends a frozen (SIGSTOPped) server
        process.wait(timeout=10)
