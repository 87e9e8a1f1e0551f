"""The rate limiter of the embedded default: one process, so a dict of arrival times suffices.

It applies domain.execution.throttling.reserve as is; the lock makes read-compute-write one step,
like the Lua script of the Redis limiter, so the contract suite holds both to the same behaviour.
Entries whose arrival time has passed are dropped now and then: they mean "start at now", exactly
like an absent key, so the dict stays as small as the set of limits currently in use.

A new process remembers nothing: with `require_seed` (the server's wiring, under
domain.execution.reseeding) it refuses to reserve until it was seeded from the reservation log,
so a restart does not hand out slots the previous process already gave away.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from datetime import datetime

from domain.execution.reseeding import LimiterStateLostError
from domain.execution.throttling import Limit, Reservation, reserve

PRUNE_EVERY = 10_000  # reservations between two sweeps of expired arrival times


class MemoryRateLimiter:
    def __init__(self, *, require_seed: bool = False) -> None:
        self._arrivals: dict[str, datetime] = {}
        self._lock = asyncio.Lock()
        self._calls = 0
        self._seeded = not require_seed

    async def reserve(self, limits: Sequence[Limit], count: int, now: datetime) -> Reservation:
        async with self._lock:
            if not self._seeded:
                raise LimiterStateLostError("a new process: not seeded yet")
            reservation, ends = reserve(self._arrivals, limits, count, now)
            self._arrivals.update(ends)
            self._calls += 1
            if self._calls % PRUNE_EVERY == 0:
                self._arrivals = {k: v for k, v in self._arrivals.items() if v > now}
            return reservation

    async def seed(self, arrivals: Mapping[str, datetime], now: datetime) -> None:
        async with self._lock:
            for key, arrival in arrivals.items():
                current = self._arrivals.get(key)
                if arrival > now and (current is None or arrival > current):
                    self._arrivals[key] = arrival
            self._seeded = True

    def forget(self) -> None:
        """Lose every arrival time, as a restart would (for tests)."""
        self._arrivals.clear()
        self._seeded = False

    def arrival(self, key: str) -> datetime | None:
        """The stored arrival time of a limit, for tests and diagnostics."""
        return self._arrivals.get(key)
