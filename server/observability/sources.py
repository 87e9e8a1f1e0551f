"""What the composition root hands the metrics to read, beside what is reported to them: the
store's figures (a domain port), and small readers of the adapters' own state, so that the
server never imports an adapter and an adapter never imports prometheus."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field

from domain.execution.figures import OperationalFiguresReader

CIRCUIT_STATES = ("closed", "open", "half_open")


@dataclass(frozen=True)
class ObservedSources:
    figures: OperationalFiguresReader
    # connection name -> is it up (None: not opened yet, reported as nothing)
    nats_connections: Mapping[str, Callable[[], bool | None]] = field(default_factory=dict)
    # subscribed subject -> messages its durable consumer has not delivered yet
    consumer_lag: Callable[[], Awaitable[Mapping[str, int]]] | None = None
    # upstream name -> its circuit breaker's state, one of CIRCUIT_STATES
    circuits: Mapping[str, Callable[[], str]] = field(default_factory=dict)


# (upstream, cache, hit): what an HTTP adapter's caches report (ServiceMetrics.cache_lookup).
CacheLookupRecorder = Callable[[str, str, bool], None]
