"""The rate limiter shared by every replica: domain.execution.throttling.reserve, applied
atomically in Redis.

One Lua call per batch (EVALSHA, falling back to EVAL once after a restart or SCRIPT FLUSH) reads
every limit's arrival time, takes the latest of them and `now`, and moves them all to the end of
the batch. The script runs alone on the server, so two replicas reserving at once queue back to
back instead of sharing slots.

Time is the caller's `now` (tests drive it with a fake clock), so replicas need synchronized clocks
(NTP): arrival times written by one replica are read against another's clock, and a skew of d lets
their sends overlap (or leave a gap) by up to d. The alternative is the Redis server's TIME inside
the script, one clock for all, at the price of ignoring the caller's `now`. Keys expire on a TTL
measured on the caller's clock (end - now + margin), so an idle limit vanishes whatever the offset
between the caller's and the server's clocks; an absent key and a past arrival mean the same.

With `require_seed` (the server's wiring, under domain.execution.reseeding) a marker key holds the
run_id of the Redis instance that was seeded; a reservation on any other instance (restarted empty
or from an older snapshot, flushed, failed over) answers LimiterStateLostError instead of granting
slots from a state that forgot what was handed out, and `seed` restores the recorded arrivals.

Not reachable (refused, timed out, read-only replica after a failover) means
DependencyUnavailableError within a few short (0.5 s) socket timeouts: the executor defers the
batch, it never sends unthrottled. All keys of one call must live on one server: no Redis Cluster.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta

from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import (
    ConnectionError,
    NoScriptError,
    ReadOnlyError,
    TimeoutError,
)

from adapters.redis.reserve_script import RESERVE_LUA, SEED_LUA
from domain.execution.reseeding import LimiterStateLostError
from domain.execution.throttling import Limit, Reservation, reserve
from domain.kernel.errors import DependencyUnavailableError

DEFAULT_PREFIX = "campaign:rl:"
SOCKET_TIMEOUT_SECONDS = 0.5
EXPIRY_MARGIN = timedelta(minutes=1)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MICROSECOND = timedelta(microseconds=1)
SCRIPT_SHA = hashlib.sha1(RESERVE_LUA.encode(), usedforsecurity=False).hexdigest()
SEED_SHA = hashlib.sha1(SEED_LUA.encode(), usedforsecurity=False).hexdigest()
SEED_MARKER = "~seeded"  # after the prefix; limit keys start with their kind (`org:`, ...)
UNSEEDED = b"unseeded"
UNAVAILABLE = (ConnectionError, TimeoutError, ReadOnlyError, OSError)


def to_micros(instant: datetime) -> int:
    """Exact integer microseconds since the epoch (no float on the way)."""
    return (instant - EPOCH) // MICROSECOND


def from_micros(micros: int) -> datetime:
    return EPOCH + timedelta(microseconds=micros)


def connect(url: str) -> Redis:
    """A client that fails fast: short timeouts and a single immediate retry, which is enough to
    replace a pooled connection the server closed (restart) without stalling a dead server."""
    return Redis.from_url(
        url,
        socket_timeout=SOCKET_TIMEOUT_SECONDS,
        socket_connect_timeout=SOCKET_TIMEOUT_SECONDS,
        retry=Retry(NoBackoff(), 1),
    )


class RedisRateLimiter:
    """RateLimiter over Redis. Given a URL it owns its client (close() closes it); given a client
    it uses that client's timeouts and retries as they are."""

    def __init__(
        self,
        url_or_client: str | Redis,
        *,
        prefix: str = DEFAULT_PREFIX,
        expiry_margin: timedelta = EXPIRY_MARGIN,
        require_seed: bool = False,
    ) -> None:
        self._require_seed = "1" if require_seed else "0"
        self._marker = prefix + SEED_MARKER
        self._owned = isinstance(url_or_client, str)
        self._redis = connect(url_or_client) if isinstance(url_or_client, str) else url_or_client
        self._prefix = prefix
        self._margin_ms = expiry_margin // timedelta(milliseconds=1)

    async def reserve(self, limits: Sequence[Limit], count: int, now: datetime) -> Reservation:
        # The domain computes spacing and duration (float seconds to whole microseconds) from
        # the limits alone; only the read-max-write on shared arrival times happens in Redis.
        local, ends = reserve({}, limits, count, now)
        duration = to_micros(next(iter(ends.values()))) - to_micros(now)
        keys = [self._marker, *(self._prefix + limit.key for limit in limits)]
        args: list[int | str] = [to_micros(now), duration, self._margin_ms, self._require_seed]
        try:
            start = await self._run(SCRIPT_SHA, RESERVE_LUA, keys, args)
        except UNAVAILABLE as exc:
            raise _unavailable(exc) from exc
        if start in (UNSEEDED, UNSEEDED.decode()):
            raise LimiterStateLostError("the Redis instance holds no seeded limiter state")
        return Reservation(from_micros(int(start)), local.spacing_seconds)

    async def seed(self, arrivals: Mapping[str, datetime], now: datetime) -> None:
        items = sorted(arrivals.items())
        keys = [self._marker, *(self._prefix + key for key, _ in items)]
        args: list[int | str] = [to_micros(now), self._margin_ms]
        args += [to_micros(at) for _, at in items]
        try:
            await self._run(SEED_SHA, SEED_LUA, keys, args)
        except UNAVAILABLE as exc:
            raise _unavailable(exc) from exc

    async def _run(
        self, sha: str, script: str, keys: list[str], args: list[int | str]
    ) -> bytes | str:
        result: bytes | str
        try:
            result = await self._redis.evalsha(sha, len(keys), *keys, *args)
        except NoScriptError:  # first call, server restart or SCRIPT FLUSH: EVAL caches it again
            result = await self._redis.eval(script, len(keys), *keys, *args)
        return result

    async def ping(self) -> None:
        """DependencyUnavailableError unless Redis answers now (a start-up report, not a gate)."""
        try:
            await self._redis.ping()
        except UNAVAILABLE as exc:
            raise DependencyUnavailableError(
                f"rate limiter unavailable: {exc}", metadata={"dependency": "redis"}
            ) from exc

    async def close(self) -> None:
        if self._owned:
            await self._redis.aclose()


def _unavailable(exc: Exception) -> DependencyUnavailableError:
    return DependencyUnavailableError(
        f"rate limiter unavailable: {exc}", metadata={"dependency": "redis"}
    )
