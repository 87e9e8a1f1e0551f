"""A rate limiter that survives losing its state (a Redis restart or flush, a process restart).

The limiter's arrival times are the only memory of which slots were handed out. Lost, every
limit would start afresh at `now` while the messages already spaced out under them are still
being sent: for a while twice the limit goes out. So every reservation is also recorded
durably (the ReservationLog, a table in the service's database), before its messages are even
written, and a limiter that finds its state missing is re-seeded from that record before it
grants anything: after a restart no limit can be reserved earlier than its last recorded end.

The domain decides when (a LimiterStateLostError from the limiter) and what (every recorded
arrival still ahead of now); the adapters detect the loss (a marker the Redis script checks)
and apply the seed atomically.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from domain.execution.ports import ReseedableRateLimiter, ReservationLog
from domain.execution.throttling import Limit, Reservation, reserve
from domain.kernel.errors import DependencyUnavailableError

SEED_ATTEMPTS = 3  # a state lost again while we seed (a second flush) is tried again, this often


class LimiterStateLostError(Exception):
    """The limiter has no record of what it granted (restarted, flushed): seed it first."""


class ReseedingRateLimiter:
    """RateLimiter: `limiter`'s reservations, each recorded in `log`, re-seeded from it when
    the limiter lost its state."""

    def __init__(self, limiter: ReseedableRateLimiter, log: ReservationLog) -> None:
        self._limiter = limiter
        self._log = log

    async def reserve(self, limits: Sequence[Limit], count: int, now: datetime) -> Reservation:
        for _ in range(SEED_ATTEMPTS):
            try:
                reservation = await self._limiter.reserve(limits, count, now)
            except LimiterStateLostError:
                await self._limiter.seed(await self._log.latest(now), now)
                continue
            # Every limit's arrival moved to the end of this batch (throttling.reserve).
            _, ends = reserve({}, limits, count, reservation.start)
            await self._log.record(ends)
            return reservation
        raise DependencyUnavailableError(
            "rate limiter lost its state repeatedly while being re-seeded",
            metadata={"dependency": "rate limiter"},
        )
