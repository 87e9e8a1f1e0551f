"""The service's Prometheus metrics, served at `/metrics`.

One registry of the service's own (not the process-global default, so tests and several
servers in one process never share counters). To add a metric, add an attribute built on
`self.registry` here and increment it where the thing happens.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

CONTENT_TYPE = CONTENT_TYPE_LATEST


class ServiceMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.tracking_hits = Counter(
            "campaign_tracking_hits",
            "Hits on tracking links, by kind (open, click, unsubscribe_page, unsubscribe) and "
            "outcome (taken; refused: a bad token or an unknown message, answered 404; "
            "unavailable: the database was down, answered 503, an open still got its image)",
            ["kind", "outcome"],
            registry=self.registry,
        )

    def exposition(self) -> bytes:
        """The registry in the Prometheus text format."""
        return generate_latest(self.registry)
