"""One suite for every RateLimiter: the in-memory one of the embedded default and the Redis one
shared by replicas must spread sends identically, or a deployment change would change delivery.

Everything runs on a fake clock (`now` is an argument), so spacing is checked to the microsecond.
The Redis limiter runs on the shared server under a key prefix of its own, deleted afterwards, and
as two clients with separate connections, i.e. two replicas.
"""

from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import pairwise

import pytest
from redis.asyncio import Redis

from adapters.embedded.rate_limiter import PRUNE_EVERY, MemoryRateLimiter
from adapters.redis.rate_limiter import EXPIRY_MARGIN, RedisRateLimiter, to_micros
from domain.campaigns.model import Throttle
from domain.execution.ports import RateLimiter
from domain.execution.throttling import Limit, OrganizationLimits, Reservation, limits_for, reserve
from domain.kernel.channels import Channel
from tests.support.services import require

REDIS_HOST, REDIS_PORT = "127.0.0.1", 6379
REDIS_URL = f"redis://{REDIS_HOST}:{REDIS_PORT}/0"
NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
SECOND = timedelta(seconds=1)


@dataclass(frozen=True)
class Limiters:
    """Two handles on one limiter state: two replicas for Redis, the same object in memory."""

    name: str
    first: RateLimiter
    second: RateLimiter
    redis: Redis | None = None  # a plain client on the same server, to inspect keys
    prefix: str = ""


@asynccontextmanager
async def redis_limiters() -> AsyncIterator[Limiters]:
    require(REDIS_HOST, REDIS_PORT, "Redis")
    prefix = f"test:campaign:rl:{uuid.uuid4().hex[:12]}:"
    first, second = (RedisRateLimiter(REDIS_URL, prefix=prefix) for _ in range(2))
    inspector = Redis.from_url(REDIS_URL)
    try:
        yield Limiters("redis", first, second, inspector, prefix)
    finally:
        keys = [key async for key in inspector.scan_iter(match=f"{prefix}*")]
        if keys:
            await inspector.delete(*keys)
        await asyncio.gather(first.close(), second.close(), inspector.aclose())


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
async def limiters(request: pytest.FixtureRequest) -> AsyncIterator[Limiters]:
    if request.param == "memory":
        memory = MemoryRateLimiter()
        yield Limiters("memory", memory, memory)
        return
    async with redis_limiters() as opened:
        yield opened


@pytest.fixture
async def limiter(limiters: Limiters) -> RateLimiter:
    return limiters.first


def limits(
    channel: Channel = Channel.EMAIL,
    throttle: Throttle | None = None,
    *,
    organization: str = "org-1",
    campaign: str = "camp-1",
) -> Sequence[Limit]:
    return limits_for(organization, campaign, channel, OrganizationLimits(), throttle or Throttle())


def end_of(reservation: Reservation, count: int) -> datetime:
    return reservation.start + timedelta(seconds=count * reservation.spacing_seconds)


async def test_a_single_reservation_starts_now_with_the_slowest_spacing(
    limiter: RateLimiter,
) -> None:
    reservation = await limiter.reserve(limits(Channel.SMS), 10, NOW)

    assert reservation.start == NOW
    assert reservation.spacing_seconds == 3.6  # sms 1,000/h is slower than the org's 10,000/h
    assert reservation.slot(9) == NOW + timedelta(seconds=32.4)


async def test_consecutive_reservations_queue_back_to_back(limiter: RateLimiter) -> None:
    first = await limiter.reserve(limits(Channel.SMS), 10, NOW)
    second = await limiter.reserve(limits(Channel.SMS), 5, NOW)

    assert second.start == end_of(first, 10) == NOW + timedelta(seconds=36)
    assert second.slot(0) - first.slot(9) == timedelta(seconds=3.6)


async def test_an_organization_limit_shared_by_two_campaigns_spreads_both(
    limiter: RateLimiter,
) -> None:
    email = await limiter.reserve(limits(Channel.EMAIL, campaign="camp-a"), 100, NOW)
    in_app = await limiter.reserve(limits(Channel.IN_APP, campaign="camp-b"), 10, NOW)
    email_again = await limiter.reserve(limits(Channel.EMAIL, campaign="camp-a"), 1, NOW)
    other_org = await limiter.reserve(limits(Channel.IN_APP, organization="org-2"), 10, NOW)

    assert email.start == NOW
    # in_app alone allows 50,000/h, but the organization's 10,000/h binds both campaigns
    assert in_app.start == end_of(email, 100) == NOW + timedelta(seconds=36)
    assert in_app.spacing_seconds == 0.36
    assert email_again.start == end_of(in_app, 10)
    assert other_org.start == NOW


@pytest.mark.parametrize(
    ("throttle", "spacing"),
    [
        (Throttle(per_minute=10), 6.0),  # 600/h
        (Throttle(per_hour=100), 36.0),
        (Throttle(per_minute=10, per_hour=300), 12.0),  # the lower of the two binds
        (Throttle(per_minute=1_000), 0.36),  # 60,000/h cannot raise email's 10,000/h
        (Throttle(per_hour=1_000_000), 0.36),
    ],
)
async def test_a_campaign_throttle_can_only_slow_the_campaign(
    limiter: RateLimiter, throttle: Throttle, spacing: float
) -> None:
    first = await limiter.reserve(limits(Channel.EMAIL, throttle), 4, NOW)
    second = await limiter.reserve(limits(Channel.EMAIL, throttle), 1, NOW)

    assert first.spacing_seconds == spacing
    assert second.start == NOW + timedelta(seconds=4 * spacing)


async def test_concurrent_reservations_never_overlap(limiters: Limiters) -> None:
    """100 reservations at once, alternating between the two handles (two replicas on Redis)."""
    per_second = limits(Channel.EMAIL, Throttle(per_minute=60))
    counts = [1 + i % 7 for i in range(100)]
    handles = [limiters.first, limiters.second]

    reservations = await asyncio.gather(
        *(handles[i % 2].reserve(per_second, count, NOW) for i, count in enumerate(counts))
    )

    intervals = sorted((r.start, end_of(r, n)) for r, n in zip(reservations, counts, strict=True))
    assert intervals[0][0] == NOW
    for (_, previous_end), (start, _) in pairwise(intervals):
        assert start == previous_end  # disjoint, and no gap either
    assert intervals[-1][1] - NOW == sum(counts) * SECOND
    assert {r.spacing_seconds for r in reservations} == {1.0}


async def test_time_passing_starts_fresh_at_now(limiter: RateLimiter) -> None:
    await limiter.reserve(limits(Channel.SMS), 10, NOW)  # busy until NOW + 36 s

    still_queued = await limiter.reserve(limits(Channel.SMS), 1, NOW + 20 * SECOND)
    later = await limiter.reserve(limits(Channel.SMS), 1, NOW + timedelta(hours=1))

    assert still_queued.start == NOW + 36 * SECOND
    assert later.start == NOW + timedelta(hours=1)


@pytest.mark.parametrize("chunks", [[1000], [100] * 10, [7] * 142 + [6]])
async def test_throttle_spreads_1000_messages_at_60_per_minute_over_1000_seconds(
    limiter: RateLimiter, chunks: list[int]
) -> None:
    """BR-CAM-006.4 on a fake clock: however the batch is chunked, one message per second."""
    per_minute_60 = limits(Channel.EMAIL, Throttle(per_minute=60))
    slots: list[datetime] = []
    for size in chunks:
        reservation = await limiter.reserve(per_minute_60, size, NOW)
        slots += [reservation.slot(i) for i in range(size)]
    following = await limiter.reserve(per_minute_60, 1, NOW)

    assert len(slots) == 1000
    assert slots[0] == NOW
    assert {later - earlier for earlier, later in pairwise(slots)} == {SECOND}
    assert following.start == NOW + 1000 * SECOND


async def test_results_equal_the_domain_arithmetic_to_the_microsecond(
    limiter: RateLimiter,
) -> None:
    """Odd spacings (float seconds rounded to microseconds) and clocks that jump both ways."""
    pool = [Limit("a", 3600 / 7), Limit("b", 1 / 3), Limit("c", 0.000_001), Limit("d", 0.36)]
    rng = random.Random(20260302)
    arrivals: dict[str, datetime] = {}
    now = NOW
    for _ in range(200):
        chosen = rng.sample(pool, rng.randint(1, len(pool)))
        count = rng.randint(0, 50)
        now += timedelta(microseconds=rng.randint(-2_000_000, 60_000_000))
        expected, ends = reserve(arrivals, chosen, count, now)
        arrivals.update(ends)

        assert await limiter.reserve(chosen, count, now) == expected


@pytest.mark.redis
async def test_redis_keys_hold_integer_microseconds_and_expire_after_the_arrival() -> None:
    async with redis_limiters() as opened:
        assert opened.redis is not None
        sms = limits(Channel.SMS)
        reservation = await opened.first.reserve(sms, 10, NOW)
        end = end_of(reservation, 10)

        for limit in sms:
            key = opened.prefix + limit.key
            stored = await opened.redis.get(key)
            assert stored is not None
            assert int(stored) == to_micros(end)
            ttl_ms = await opened.redis.pttl(key)
            expected_ms = (end - NOW + EXPIRY_MARGIN) // timedelta(milliseconds=1)
            assert expected_ms - 5_000 < ttl_ms <= expected_ms


async def test_memory_limiter_forgets_arrivals_that_have_passed() -> None:
    limiter = MemoryRateLimiter()
    await limiter.reserve([Limit("old", 1.0)], 10, NOW)
    later = NOW + timedelta(hours=1)
    for _ in range(PRUNE_EVERY):
        await limiter.reserve([Limit("busy", 0.001)], 1, later)

    assert limiter.arrival("old") is None
    assert limiter.arrival("busy") is not None


@pytest.mark.parametrize(
    ("intruder", "victim"),
    [
        # the intruder's organization-wide key was the victim's email key: `org:victim:email`
        (("victim:email", Channel.SMS), ("victim", Channel.EMAIL)),
        (("a:b", Channel.EMAIL), ("a", Channel.EMAIL)),
        (("a%3Ab", Channel.EMAIL), ("a:b", Channel.EMAIL)),  # an escape is not a way in either
    ],
)
async def test_an_organization_id_cannot_reach_another_organizations_limits(
    limiter: RateLimiter,
    intruder: tuple[str, Channel],
    victim: tuple[str, Channel],
) -> None:
    (bad_org, bad_channel), (org, channel) = intruder, victim
    await limiter.reserve(limits(bad_channel, organization=bad_org, campaign="c1"), 1_000, NOW)

    untouched = await limiter.reserve(limits(channel, organization=org, campaign="c2"), 1, NOW)

    assert untouched.start == NOW


async def test_a_campaign_id_cannot_reach_another_campaigns_limit(limiter: RateLimiter) -> None:
    slow = Throttle(per_hour=10)
    await limiter.reserve(limits(throttle=slow, organization="o1", campaign="x:y"), 5, NOW)

    other_limits = limits(throttle=slow, organization="o2", campaign="x%3Ay")
    other = await limiter.reserve(other_limits, 1, NOW)

    assert other.start == NOW


def test_limit_keys_of_plain_ids_read_as_before() -> None:
    assert [limit.key for limit in limits(Channel.SMS, Throttle(per_hour=5))] == [
        "org:org-1",
        "org:org-1:sms",
        "campaign:camp-1",
    ]
