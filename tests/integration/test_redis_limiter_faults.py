"""The Redis limiter when Redis goes away: a fast DependencyUnavailableError (so the executor
defers the batch instead of sending unthrottled or hanging), and recovery without a restart of
ours once Redis is back.

Each test starts a redis-server of its own on a free port and kills that one; the shared server
is never touched.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import time
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from redis.asyncio import Redis

from adapters.redis.rate_limiter import SCRIPT_SHA, RedisRateLimiter
from domain.execution.throttling import Limit
from domain.kernel.errors import DependencyUnavailableError
from tests.support.services import free_port, is_listening

pytestmark = pytest.mark.redis

REDIS_SERVER_BINARY = "/usr/bin/redis-server"
NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
LIMITS = [Limit("org:o1", 0.36), Limit("org:o1:sms", 3.6)]
FAIL_WITHIN_SECONDS = 3.0  # two attempts of 0.5 s socket timeouts, plus scheduling slack


class PrivateRedisServer:
    """A redis-server without persistence that only this test uses; restartable on its port."""

    def __init__(self, workdir: Path) -> None:
        binary = shutil.which("redis-server") or REDIS_SERVER_BINARY
        if not Path(binary).exists():
            message = "redis-server is not installed"
            if os.environ.get("CI"):
                pytest.fail(f"{message}; CI must provide it", pytrace=False)
            pytest.skip(message)
        self.binary, self.workdir, self.port = binary, workdir, free_port()
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    async def start(self, *, wait_seconds: float = 10.0) -> None:
        assert self._process is None
        self._process = subprocess.Popen(  # noqa: ASYNC220 - returns at once
            [
                self.binary,
                *("--port", str(self.port), "--bind", "127.0.0.1", "--save", ""),
                *("--appendonly", "no", "--dir", str(self.workdir)),
                *("--logfile", str(self.workdir / "redis.log")),
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + wait_seconds
        while not is_listening("127.0.0.1", self.port, timeout=0.2):
            if self._process.poll() is not None or time.monotonic() > deadline:
                self.kill()
                pytest.fail(f"private redis-server did not start; see {self.workdir}/redis.log")
            await asyncio.sleep(0.05)

    def freeze(self) -> None:
        """SIGSTOP: the port stays open but nothing answers, like a stalled server."""
        assert self._process is not None
        self._process.send_signal(signal.SIGSTOP)

    def kill(self) -> None:
        """SIGKILL (also ends a frozen server), like a crash; returns once it is gone."""
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGKILL)
            process.wait(timeout=10)


@pytest.fixture
async def redis_server(tmp_path: Path) -> AsyncIterator[PrivateRedisServer]:
    server = PrivateRedisServer(tmp_path)
    try:
        await server.start()
        yield server
    finally:
        server.kill()


@pytest.fixture
async def limiter(redis_server: PrivateRedisServer) -> AsyncIterator[RedisRateLimiter]:
    opened = RedisRateLimiter(redis_server.url, prefix=f"test:rl:{uuid.uuid4().hex[:8]}:")
    try:
        yield opened
    finally:
        await opened.close()


async def assert_unavailable_quickly(limiter: RedisRateLimiter) -> None:
    began = time.monotonic()
    with pytest.raises(DependencyUnavailableError) as raised:
        await asyncio.wait_for(limiter.reserve(LIMITS, 10, NOW), timeout=10)
    elapsed = time.monotonic() - began
    assert elapsed < FAIL_WITHIN_SECONDS, f"took {elapsed:.2f} s"
    assert raised.value.reason == "DEPENDENCY_UNAVAILABLE"


async def test_killed_redis_fails_fast_and_recovers_after_a_restart(
    redis_server: PrivateRedisServer, limiter: RedisRateLimiter
) -> None:
    assert (await limiter.reserve(LIMITS, 10, NOW)).start == NOW
    assert (await limiter.reserve(LIMITS, 1, NOW)).start == NOW + timedelta(seconds=36)

    redis_server.kill()
    await assert_unavailable_quickly(limiter)  # the pooled connection is dead
    await assert_unavailable_quickly(limiter)  # and a new one is refused

    await redis_server.start()
    later = NOW + timedelta(minutes=5)
    # Same client, no restart of ours. The arrival times died with the server (no persistence)
    # and so did the cached script: this call goes through the NOSCRIPT -> EVAL fallback.
    assert (await limiter.reserve(LIMITS, 10, later)).start == later
    assert (await limiter.reserve(LIMITS, 1, later)).start == later + timedelta(seconds=36)


async def test_a_stalled_redis_times_out_instead_of_hanging(
    redis_server: PrivateRedisServer, limiter: RedisRateLimiter
) -> None:
    await limiter.reserve(LIMITS, 1, NOW)
    redis_server.freeze()

    await assert_unavailable_quickly(limiter)


async def test_the_script_is_cached_and_reloaded_after_a_flush(
    redis_server: PrivateRedisServer, limiter: RedisRateLimiter
) -> None:
    inspector = Redis.from_url(redis_server.url)
    try:
        await limiter.reserve(LIMITS, 1, NOW)
        assert await inspector.script_exists(SCRIPT_SHA) == [True]
        await inspector.config_resetstat()

        await limiter.reserve(LIMITS, 1, NOW)
        stats = await inspector.info("commandstats")
        assert stats["cmdstat_evalsha"]["calls"] == 1
        assert "cmdstat_eval" not in stats  # cached: the script text was not sent again

        await inspector.script_flush()
        assert (await limiter.reserve(LIMITS, 1, NOW)).start == NOW + timedelta(seconds=7.2)
        assert await inspector.script_exists(SCRIPT_SHA) == [True]
    finally:
        await inspector.aclose()
