"""A bounded, expiring LRU map: the memory behind every "last good answer" fallback.

Bounded twice, by age and by weight (entries by default, ids for member lists), because an
unbounded fallback cache is a slow memory leak that only shows during an outage.
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Generic, TypeVar

from adapters.http.errors import UpstreamUnavailableError

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


@dataclass(frozen=True, slots=True)
class Cached(Generic[V]):
    value: V
    stored_at: float
    weight: int


class TtlCache(Generic[K, V]):
    """Entries live `ttl` seconds; the least recently used go first beyond `max_weight`.

    A value heavier than `max_weight` on its own is not stored at all. `on_lookup` hears of
    every `get`, True for a hit (the service's metrics count them; it must not raise).
    """

    def __init__(
        self,
        *,
        ttl: float,
        max_weight: int,
        weigh: Callable[[V], int] = lambda _value: 1,
        clock: Callable[[], float] = time.monotonic,
        on_lookup: Callable[[bool], None] | None = None,
    ) -> None:
        self._ttl = ttl
        self._on_lookup = on_lookup
        self._max_weight = max_weight
        self._weigh = weigh
        self._clock = clock
        self._entries: OrderedDict[K, Cached[V]] = OrderedDict()
        self._weight = 0

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def weight(self) -> int:
        return self._weight

    def get(self, key: K) -> Cached[V] | None:
        """The entry with its age source (`stored_at`), or None when absent or expired."""
        entry = self._entries.get(key)
        if entry is not None and self.age(entry) >= self._ttl:
            self._drop(key)
            entry = None
        if entry is not None:
            self._entries.move_to_end(key)
        if self._on_lookup is not None:
            self._on_lookup(entry is not None)
        return entry

    def put(self, key: K, value: V) -> None:
        weight = self._weigh(value)
        self.discard(key)
        if weight > self._max_weight:
            return
        self._entries[key] = Cached(value, self._clock(), weight)
        self._weight += weight
        while self._weight > self._max_weight:
            self._drop(next(iter(self._entries)))

    def discard(self, key: K) -> None:
        if key in self._entries:
            self._drop(key)

    def age(self, entry: Cached[V]) -> float:
        return self._clock() - entry.stored_at

    def _drop(self, key: K) -> None:
        self._weight -= self._entries.pop(key).weight


def stale_copy(
    cache: TtlCache[K, V], key: K, outage: UpstreamUnavailableError, upstream: str, what: str
) -> V:
    """The cached copy of `key` while its upstream is down (EC-CAM-002), said in the log with its
    age; without one, the outage itself, since there is nothing to serve."""
    cached = cache.get(key)
    if cached is None:
        raise outage
    logging.getLogger("campaign.http").warning(
        "%s unavailable (%s): %s served from a copy of %.0fs ago",
        upstream,
        outage.detail,
        what,
        cache.age(cached),
    )
    return cached.value
