"""States read at each scrape rather than sampled: the data service's circuit breaker and the
NATS connections. Each is an attribute read in memory, so the scrape always tells the state as
it is now, at no cost."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import TypeVar

from prometheus_client.metrics_core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from server.observability.sources import CIRCUIT_STATES

T = TypeVar("T")
CIRCUIT = "campaign_upstream_circuit_state"
CIRCUIT_HELP = (
    "An upstream client's circuit breaker: 1 for its current state (closed, open, half_open), "
    "0 for the others"
)
CONNECTED = "campaign_nats_connected"
CONNECTED_HELP = (
    "A NATS connection: 1 while connected, 0 while reconnecting or closed; absent until the "
    "connection is first used (they open lazily)"
)


class LiveReadings(Collector):
    def __init__(
        self,
        circuits: Mapping[str, Callable[[], str]],
        connections: Mapping[str, Callable[[], bool | None]],
    ) -> None:
        self._circuits = dict(circuits)
        self._connections = dict(connections)

    def describe(self) -> Iterable[Metric]:
        """The families without samples: registering must not read the states yet."""
        return self._families(read=False)

    def collect(self) -> Iterable[Metric]:
        return self._families(read=True)

    def _families(self, *, read: bool) -> list[Metric]:
        circuit = GaugeMetricFamily(CIRCUIT, CIRCUIT_HELP, labels=["upstream", "state"])
        connected = GaugeMetricFamily(CONNECTED, CONNECTED_HELP, labels=["connection"])
        if read:
            for upstream, state_of in self._circuits.items():
                current = _quietly(state_of)
                for state in CIRCUIT_STATES:
                    circuit.add_metric([upstream, state], 1.0 if state == current else 0.0)
            for name, is_up in self._connections.items():
                up = _quietly(is_up)
                if up is not None:
                    connected.add_metric([name], 1.0 if up else 0.0)
        return [circuit, connected]


def _quietly(read: Callable[[], T]) -> T | None:
    """A reading that fails is left out: a scrape must not fail over one state."""
    try:
        return read()
    except Exception:
        return None
