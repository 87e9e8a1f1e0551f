"""The sampler puts the store's figures into the gauges and keeps the last good sample through
an outage (counting the failure); the backlogs' ages are computed at the scrape; the live
readings tell the breaker's and the NATS connections' states as they are at the scrape."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

import pytest
from prometheus_client.parser import text_string_to_metric_families

from domain.execution.figures import Backlog, OperationalFigures
from domain.kernel.errors import DependencyUnavailableError
from server.observability.live_readings import LiveReadings
from server.observability.prometheus import ServiceMetrics
from server.observability.sampler import FiguresSampler
from server.observability.sources import ObservedSources


class StoreFigures:
    """A stand-in store: answers what it was given, or fails while `down`."""

    def __init__(self, figures: OperationalFigures) -> None:
        self.figures = figures
        self.down = False

    async def read(self, now: datetime) -> OperationalFigures:
        if self.down:
            raise DependencyUnavailableError("database unreachable")
        return self.figures


def value(metrics: ServiceMetrics, name: str, **labels: str) -> float | None:
    return metrics.registry.get_sample_value(name, labels)


async def test_a_sample_sets_the_gauges_and_an_outage_keeps_the_last_one() -> None:
    long_ago = datetime.now(UTC) - timedelta(hours=1)
    store = StoreFigures(
        OperationalFigures(
            messages={("email", "sent"): 7, ("email", "queued"): 9},
            executions={"completed": 2, "running": 1},
            outbox=Backlog(3, long_ago),
            delivery=Backlog(0, None),
        )
    )
    lag: Mapping[str, int] = {"notification.delivered": 4}

    async def consumer_lag() -> Mapping[str, int]:
        return lag

    metrics = ServiceMetrics()
    sampler = FiguresSampler(metrics, ObservedSources(store, consumer_lag=consumer_lag), 60)
    await sampler.sample_once()

    assert value(metrics, "campaign_messages", channel="email", status="sent") == 7
    assert value(metrics, "campaign_messages", channel="email", status="queued") == 9
    assert value(metrics, "campaign_messages", channel="sms", status="sent") == 0
    assert value(metrics, "campaign_executions", status="completed") == 2
    assert value(metrics, "campaign_executions", status="failed") == 0
    assert value(metrics, "campaign_outbox_backlog_rows") == 3
    age = value(metrics, "campaign_outbox_backlog_oldest_age_seconds")
    assert age is not None
    assert age >= 3600
    assert value(metrics, "campaign_delivery_backlog_rows") == 0
    assert value(metrics, "campaign_delivery_backlog_oldest_age_seconds") == 0
    assert value(metrics, "campaign_nats_consumer_pending", subject="notification.delivered") == 4

    store.down = True
    await sampler.sample_once()
    assert value(metrics, "campaign_metrics_sample_failures_total", source="database") == 1
    assert value(metrics, "campaign_messages", channel="email", status="sent") == 7


async def test_the_sampler_stops_between_samples() -> None:
    metrics = ServiceMetrics()
    store = StoreFigures(OperationalFigures(executions={"pending": 1}))
    sampler = FiguresSampler(metrics, ObservedSources(store), interval=3_600)
    sampler.start()
    for _ in range(200):
        if value(metrics, "campaign_executions", status="pending") == 1:
            break
        await asyncio.sleep(0.01)
    assert value(metrics, "campaign_executions", status="pending") == 1  # sampled at start
    await asyncio.wait_for(sampler.stop(), 10)  # does not sleep out the hour


@pytest.mark.parametrize(("state", "expected"), [("open", 1.0), ("closed", 0.0)])
def test_live_readings_tell_the_states_at_the_scrape(state: str, expected: float) -> None:
    metrics = ServiceMetrics()
    connections = {"events": lambda: True, "deliveries": lambda: False, "inbound": lambda: None}
    metrics.registry.register(LiveReadings({"data_service": lambda: state}, connections))
    families = {f.name: f for f in text_string_to_metric_families(metrics.exposition().decode())}
    circuit = {
        s.labels["state"]: s.value for s in families["campaign_upstream_circuit_state"].samples
    }
    assert circuit["open"] == expected
    assert sum(circuit.values()) == 1
    connected = {
        s.labels["connection"]: s.value for s in families["campaign_nats_connected"].samples
    }
    assert connected == {"events": 1.0, "deliveries": 0.0}  # "inbound" is not opened yet


def test_cache_lookups_are_counted_by_upstream_cache_and_outcome() -> None:
    metrics = ServiceMetrics()
    metrics.cache_lookup("data_service", "profile_schemas", True)
    metrics.cache_lookup("data_service", "profile_schemas", False)
    metrics.cache_lookup("data_service", "profile_schemas", True)
    hits = value(
        metrics,
        "campaign_upstream_cache_lookups_total",
        upstream="data_service",
        cache="profile_schemas",
        outcome="hit",
    )
    assert hits == 2
