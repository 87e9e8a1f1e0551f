"""A limiter that lost its state is re-seeded from the reservation log (issue #10 item 19):
after a Redis restart (empty, or from an older snapshot), a FLUSHALL, or a restart of the
embedded process, no limit grants more than its rate in any window.

Redis runs as a private redis-server on a free port that this test restarts; the shared one is
never touched. The log is the real SQL adapter on SQLite and on Postgres.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from redis.asyncio import Redis

from adapters.embedded.rate_limiter import MemoryRateLimiter
from adapters.redis.rate_limiter import SEED_MARKER, RedisRateLimiter
from adapters.sql import make_engine, upgrade_to_head
from adapters.sql.execution.reservation_log import SqlReservationLog
from domain.campaigns.model import Throttle
from domain.execution.reseeding import LimiterStateLostError, ReseedingRateLimiter
from domain.execution.throttling import Limit, OrganizationLimits, Reservation, limits_for
from domain.kernel.channels import Channel
from tests.integration.test_redis_limiter_faults import PrivateRedisServer
from tests.support.services import postgres_database

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
MINUTE = timedelta(minutes=1)
# 60 per minute on the campaign: one slot per second, the slowest of its limits.
LIMITS = limits_for("org-1", "camp-1", Channel.EMAIL, OrganizationLimits(), Throttle(per_minute=60))


def granted_before(reservations: list[tuple[Reservation, int]], end: datetime) -> int:
    return sum(1 for r, n in reservations for i in range(n) if r.slot(i) < end)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def log(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[SqlReservationLog]:
    async def opened(url: str) -> AsyncIterator[SqlReservationLog]:
        engine = make_engine(url)
        await upgrade_to_head(engine)
        try:
            yield SqlReservationLog(engine)
        finally:
            await engine.dispose()

    if request.param == "postgres":
        async with postgres_database() as url:
            async for built in opened(url):
                yield built
    else:
        async for built in opened(f"sqlite+aiosqlite:///{tmp_path / 'log.db'}"):
            yield built


@pytest.fixture
async def redis_server(tmp_path: Path) -> AsyncIterator[PrivateRedisServer]:
    server = PrivateRedisServer(tmp_path)
    try:
        await server.start()
        yield server
    finally:
        server.kill()


@pytest.mark.redis
async def test_a_redis_restart_mid_window_never_grants_more_than_the_limit(
    redis_server: PrivateRedisServer, log: SqlReservationLog
) -> None:
    redis = RedisRateLimiter(redis_server.url, require_seed=True)
    limiter = ReseedingRateLimiter(redis, log)
    try:
        granted = [(await limiter.reserve(LIMITS, 40, NOW), 40)]

        redis_server.kill()  # no persistence: every arrival time and the marker are gone
        await redis_server.start()
        after_restart = await limiter.reserve(LIMITS, 40, NOW + timedelta(seconds=10))
        granted.append((after_restart, 40))

        assert after_restart.start == NOW + timedelta(seconds=40)  # where the first batch ended
        assert granted_before(granted, NOW + MINUTE) == 60
    finally:
        await redis.close()


@pytest.mark.redis
async def test_a_flush_and_a_stale_snapshot_are_re_seeded_too(
    redis_server: PrivateRedisServer, log: SqlReservationLog
) -> None:
    prefix = f"test:rl:{uuid.uuid4().hex[:8]}:"
    redis = RedisRateLimiter(redis_server.url, prefix=prefix, require_seed=True)
    limiter = ReseedingRateLimiter(redis, log)
    inspector = Redis.from_url(redis_server.url)
    try:
        await limiter.reserve(LIMITS, 30, NOW)  # until NOW + 30 s
        await inspector.flushall()
        assert (await limiter.reserve(LIMITS, 10, NOW)).start == NOW + timedelta(seconds=30)

        # An older snapshot: the keys are back with earlier arrivals, the marker names a server
        # instance that is gone.
        for limit in LIMITS:
            await inspector.set(prefix + limit.key, "0")
        await inspector.set(prefix + SEED_MARKER, "0123abcd")
        assert (await limiter.reserve(LIMITS, 1, NOW)).start == NOW + timedelta(seconds=40)
    finally:
        await inspector.aclose()
        await redis.close()


@pytest.mark.redis
async def test_an_unseeded_redis_refuses_to_reserve(redis_server: PrivateRedisServer) -> None:
    redis = RedisRateLimiter(redis_server.url, require_seed=True)
    try:
        with pytest.raises(LimiterStateLostError):
            await redis.reserve(LIMITS, 1, NOW)
        await redis.seed({"x": NOW + MINUTE}, NOW)

        assert (await redis.reserve([Limit("x", 1.0)], 1, NOW)).start == NOW + MINUTE
    finally:
        await redis.close()


async def test_a_restarted_process_continues_where_the_last_one_stopped(
    log: SqlReservationLog,
) -> None:
    first = ReseedingRateLimiter(MemoryRateLimiter(require_seed=True), log)
    granted = [(await first.reserve(LIMITS, 50, NOW), 50)]

    restarted = ReseedingRateLimiter(MemoryRateLimiter(require_seed=True), log)
    again = await restarted.reserve(LIMITS, 50, NOW + timedelta(seconds=5))
    granted.append((again, 50))

    assert again.start == NOW + timedelta(seconds=50)
    assert granted_before(granted, NOW + MINUTE) == 60


async def test_the_log_keeps_the_latest_arrival_and_returns_only_future_ones(
    log: SqlReservationLog,
) -> None:
    await log.record({"a": NOW + MINUTE, "b": NOW - MINUTE})
    await log.record({"a": NOW + timedelta(seconds=1)})  # earlier: ignored

    assert await log.latest(NOW) == {"a": NOW + MINUTE}
