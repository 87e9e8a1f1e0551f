"""The service's Prometheus metrics, served at `/metrics` (docs/metrics-prometheus.md).

One registry of the service's own (not the process-global default, so tests and several
servers in one process never share counters). Every label takes its values from a fixed set
(methods the server registered, status codes, channels, statuses, upstream and connection
names): never a campaign, organization or user id, so the series stay a few hundred however
much the service does. Who feeds what:

- RPCs: server/interceptors/rpc_metrics.py, around every call;
- the engine's runs and batches: execution_metrics.py, the executor's observer;
- the store's figures and the NATS consumers' lag: sampler.py, every few seconds;
- the data service's breaker and NATS connection states: live_readings.py, read at each scrape;
- the data service's cache lookups: the HTTP adapter, through `cache_lookup`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from domain.execution.figures import Backlog, OperationalFigures
from domain.execution.model import ExecutionStatus, MessageStatus
from domain.kernel.channels import Channel

CONTENT_TYPE = CONTENT_TYPE_LATEST
# Unary calls take milliseconds; streams (live metrics, health watches) last minutes.
RPC_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)
BATCH_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
# The funnel statuses the metric ledger counts messages in (docs/metrics.md).
FUNNEL = tuple(
    s.value
    for s in MessageStatus
    if s not in {MessageStatus.DEFERRED, MessageStatus.SUPPRESSED, MessageStatus.CANCELLED}
)


class ServiceMetrics:
    def __init__(self) -> None:
        self.registry = registry = CollectorRegistry(auto_describe=True)
        self.tracking_hits = Counter(
            "campaign_tracking_hits",
            "Hits on tracking links, by kind (open, click, unsubscribe_page, unsubscribe) and "
            "outcome (taken; refused: a bad token or an unknown message, answered 404; "
            "unavailable: the database was down, answered 503, an open still got its image)",
            ["kind", "outcome"],
            registry=registry,
        )
        # --- RPCs -------------------------------------------------------------------------
        self.rpc_started = Counter(
            "campaign_rpc_started",
            "gRPC calls started, by full method name (unknown methods as 'unknown')",
            ["method"],
            registry=registry,
        )
        self.rpc_handled = Counter(
            "campaign_rpc_handled",
            "gRPC calls finished, by full method name and status code",
            ["method", "code"],
            registry=registry,
        )
        self.rpc_seconds = Histogram(
            "campaign_rpc_duration_seconds",
            "gRPC call duration (a stream's whole life), by method and status code",
            ["method", "code"],
            buckets=RPC_BUCKETS,
            registry=registry,
        )
        # --- the engine's runs (the executor's reports) ----------------------------------
        self.runs_started = Counter(
            "campaign_execution_runs_started",
            "Executions this replica started fanning out (a resumed run is not counted again)",
            registry=registry,
        )
        self.runs_ended = Counter(
            "campaign_execution_runs_ended",
            "Executions this replica ended, by status (completed, cancelled, failed, paused)",
            ["status"],
            registry=registry,
        )
        self.batch_seconds = Histogram(
            "campaign_fanout_batch_duration_seconds",
            "Time one fan-out batch took: planning, throttling and writing",
            buckets=BATCH_BUCKETS,
            registry=registry,
        )
        self.batch_recipients = Counter(
            "campaign_fanout_recipients",
            "Recipients the fan-out batches covered (queued, held back, suppressed or failed)",
            registry=registry,
        )
        self.batch_queued = Counter(
            "campaign_fanout_messages_queued",
            "Messages the fan-out batches wrote for delivery",
            registry=registry,
        )
        self.limiter_deferrals = Counter(
            "campaign_limiter_deferrals",
            "Messages the rate limits or quiet hours deferred to a later slot, by channel",
            ["channel"],
            registry=registry,
        )
        # --- sampled from the store --------------------------------------------------------
        self.messages = Gauge(
            "campaign_messages",
            "Messages that ever reached a status, all campaigns, by channel and status (the "
            "metric ledger's counters, sampled)",
            ["channel", "status"],
            registry=registry,
        )
        self.executions = Gauge(
            "campaign_executions",
            "Executions in the store by current status (sampled)",
            ["status"],
            registry=registry,
        )
        self._outbox = self._delivery = Backlog()
        self._backlog_gauges(
            "outbox", "Domain events not yet published to the event bus", lambda: self._outbox
        )
        self._backlog_gauges(
            "delivery",
            "Messages due and not yet handed over to the delivery relay",
            lambda: self._delivery,
        )
        self.consumer_pending = Gauge(
            "campaign_nats_consumer_pending",
            "Inbound messages a durable JetStream consumer has not delivered yet, by subject",
            ["subject"],
            registry=registry,
        )
        self.sample_failures = Counter(
            "campaign_metrics_sample_failures",
            "Samples that could not be read, by source (database, nats)",
            ["source"],
            registry=registry,
        )
        self.sampled_at = Gauge(
            "campaign_metrics_sampled_timestamp_seconds",
            "When the store's figures were last read (Unix time)",
            registry=registry,
        )
        # --- upstreams ---------------------------------------------------------------------
        self.cache_lookups = Counter(
            "campaign_upstream_cache_lookups",
            "Lookups in an upstream client's caches, by upstream, cache and outcome (hit, miss)",
            ["upstream", "cache", "outcome"],
            registry=registry,
        )
        for status in ExecutionStatus:
            self.executions.labels(status=status.value)
        for channel in Channel:
            self.limiter_deferrals.labels(channel=channel.value)
            for funnel_status in FUNNEL:
                self.messages.labels(channel=channel.value, status=funnel_status)

    def _backlog_gauges(self, name: str, what: str, backlog: Callable[[], Backlog]) -> None:
        rows = Gauge(f"campaign_{name}_backlog_rows", f"{what} (sampled)", registry=self.registry)
        age = Gauge(
            f"campaign_{name}_backlog_oldest_age_seconds",
            f"How long the oldest of them has waited (its instant sampled, the age as of the "
            f"scrape); 0 when none waits. {what}",
            registry=self.registry,
        )
        rows.set_function(lambda: float(backlog().rows))
        age.set_function(lambda: backlog().age(datetime.now(UTC)).total_seconds())

    def show(self, figures: OperationalFigures, at: datetime) -> None:
        """A sample of the store's figures; what the sample lacks reads 0."""
        for (channel, status), count in figures.messages.items():
            self.messages.labels(channel=channel, status=status).set(count)
        for status in ExecutionStatus:
            self.executions.labels(status=status.value).set(figures.executions.get(status.value, 0))
        self._outbox, self._delivery = figures.outbox, figures.delivery
        self.sampled_at.set(at.timestamp())

    def show_lag(self, pending: Mapping[str, int]) -> None:
        self.consumer_pending.clear()
        for subject, count in pending.items():
            self.consumer_pending.labels(subject=subject).set(count)

    def cache_lookup(self, upstream: str, cache: str, hit: bool) -> None:
        self.cache_lookups.labels(
            upstream=upstream, cache=cache, outcome="hit" if hit else "miss"
        ).inc()

    def exposition(self) -> bytes:
        """The registry in the Prometheus text format."""
        return generate_latest(self.registry)
