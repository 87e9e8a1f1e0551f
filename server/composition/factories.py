"""One factory per port. Each reads the settings and picks the embedded adapter (the zero-config
default) or, when its URL is set, the real technology; whatever it opens it registers in the
shutdown list. The only module in server/ that imports adapters."""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from urllib.parse import urlsplit

from pydantic import SecretStr

from adapters.dns import SystemResolver
from adapters.embedded.bus import InProcessEventBus
from adapters.embedded.metric_changes import InProcessMetricChanges
from adapters.embedded.rate_limiter import MemoryRateLimiter
from adapters.embedded.sandbox_delivery import SandboxDelivery
from adapters.http.audience import HttpAudienceSource
from adapters.http.client import UpstreamClient
from adapters.http.templates import HttpTemplateSource
from adapters.nats.delivery import NatsDeliveryPublisher
from adapters.nats.inbound import InboundOptions, NatsInbound
from adapters.nats.jetstream import JetStreamLink
from adapters.nats.metric_changes import NatsMetricChanges
from adapters.nats.publisher import NatsEventPublisher
from adapters.redis.rate_limiter import RedisRateLimiter
from adapters.runtime.gc_tuning import older_objects_left_alone
from adapters.runtime.message_ids import FastMessageIds
from adapters.runtime.planning_process import PlanningProcess
from adapters.sql.audience.source import SqlAudienceSource
from adapters.sql.audience.stores import SqlContactDirectory, SqlSegmentStore
from adapters.sql.audience.suppressions import SqlSuppressionStore
from adapters.sql.engine import make_engine
from adapters.sql.execution.figures import SqlOperationalFigures
from adapters.sql.migrate import (
    SchemaOutOfDateError,
    current_revision,
    ensure_schema_current,
    upgrade_to_head,
)
from adapters.sql.startup import DatabaseStartupError, explained_failures
from adapters.sql.unit_of_work import SqlStore
from adapters.system import SystemClock, UuidGenerator
from adapters.trace_context import CurrentTraceContext
from adapters.tracking.links import SignedTrackingLinks
from domain.audience.ports import AudienceSource, ContactDirectory, SegmentStore, SuppressionStore
from domain.audience.pseudonyms import Pseudonyms
from domain.campaigns.ports import CampaignReads, HostResolver, NewCampaigns
from domain.campaigns.templates import TemplateSource
from domain.events.intake import EventIntake
from domain.events.ports import EventsUnitOfWorkFactory
from domain.execution.model import MessageIdFactory
from domain.execution.ports import (
    BatchPlanner,
    DeliveryOutbox,
    DeliveryPublisher,
    RateLimiter,
    ReservationLog,
)
from domain.execution.reseeding import ReseedingRateLimiter
from domain.execution.tracked_delivery import TrackedDelivery
from domain.execution.tracking import TrackingLinks
from domain.kernel.ports import Clock, EventPublisher, HealthProbe, IdGenerator, OutboxStore
from domain.metrics.ports import MetricChangeFeed, MetricChanges, MetricLedger
from server.composition.closers import Closers
from server.data_dir import private_data_dir
from server.observability.sources import CacheLookupRecorder, ObservedSources
from server.pseudonym_key import erasure_pseudonyms
from server.settings import Settings
from server.startup import StartupError
from server.tracing import trace_database
from server.tracking_keys import tracking_keys

DATA_SERVICE, CREATIVE_SERVICE = "data_service", "creative_service"  # the metrics' labels

__all__ = ["Ports", "SchemaOutOfDateError", "build_ports", "migrate_database"]


@dataclass(frozen=True)
class DependencyCheck:
    """A shared dependency the service runs on without (events wait in the outbox, sends wait
    for the rate limiter), so it does not gate the start; checked once after it, to report an
    unreachable one at once rather than at the first event or send."""

    setting: str
    address: str  # host:port, never the URL (it may carry a password)
    check: Callable[[], Awaitable[None]]


@dataclass(frozen=True)
class Ports:
    """An adapter for every port the service uses, as the settings chose them."""

    clock: Clock
    ids: IdGenerator
    unit_of_work: EventsUnitOfWorkFactory
    health_probe: HealthProbe
    event_outbox: OutboxStore
    delivery_outbox: DeliveryOutbox
    contacts: ContactDirectory
    segments: SegmentStore
    suppressions: SuppressionStore
    audience: AudienceSource
    templates: TemplateSource | None
    limiter: RateLimiter
    delivery: DeliveryPublisher
    events: EventPublisher
    message_ids: MessageIdFactory
    fanout_scope: Callable[[], AbstractContextManager[None]]
    resolver: HostResolver  # where webhooks point (domain.campaigns.webhooks)
    metric_ledger: MetricLedger  # the counters experiments are judged on (domain.metrics)
    inbound: NatsInbound | None = None  # the NATS subscriptions; None without NATS
    # Counter change signals: what writers tell (changes) and live streams hear (feed); one
    # adapter, in process or on NATS (docs/live-metrics.md).
    metric_changes: MetricChanges | None = None
    metric_feed: MetricChangeFeed | None = None
    pseudonyms: Pseudonyms | None = None  # of erased users (docs/erasure.md)
    tracking: TrackingLinks | None = None  # signed tracking links (docs/tracking.md)
    dependency_checks: tuple[DependencyCheck, ...] = ()
    # What /metrics reads besides what is reported to it (docs/metrics-prometheus.md).
    observed: ObservedSources | None = None
    # Where a run's batches are rendered (None: a worker thread; adapters.runtime).
    planner: BatchPlanner | None = None
    # GetCampaign's reads, coalesced (None: a read-only unit of work each; docs/performance.md).
    campaign_reads: CampaignReads | None = None
    # Where CreateCampaign stores (None: a unit of work each; one statement on Postgres).
    new_campaigns: NewCampaigns | None = None


async def build_ports(
    settings: Settings,
    closers: Closers,
    *,
    tracking_base_url: str = "",
    cache_lookups: CacheLookupRecorder | None = None,
) -> Ports:
    """`tracking_base_url`: where the tracking links point (the HTTP server's public URL);
    `cache_lookups` hears of the upstream clients' cache lookups (the metrics)."""
    links = tracking_links(settings, tracking_base_url)
    store = await open_store(settings, closers)
    events = event_publisher(settings, closers)
    clock = SystemClock()
    segments = SqlSegmentStore(store.engine, clock=clock)
    pseudonyms = erasure_pseudonyms(settings)
    suppressions = SqlSuppressionStore(store.engine, clock=clock, pseudonyms=pseudonyms)
    checks: list[DependencyCheck] = []
    limiter = rate_limiter(settings, closers, store.reservation_log(), checks)
    if isinstance(events, NatsEventPublisher) and settings.nats_url:
        checks.append(
            DependencyCheck("CAMPAIGN_NATS_URL", _address(settings.nats_url), events.ping)
        )
    signals = metric_signals(settings, closers)
    store.metric_changes.target = signals  # a commit that moved counters tells every replica
    circuits: dict[str, Callable[[], str]] = {}
    delivery = delivery_publisher(settings, closers)
    inbound = nats_inbound(settings, closers)
    planning = planning_process(settings, links, closers)
    return Ports(
        clock=clock,
        ids=UuidGenerator(),
        unit_of_work=store.unit_of_work,
        campaign_reads=store.campaign_reads(),
        new_campaigns=store.new_campaigns(),
        health_probe=store,
        event_outbox=store.outbox_store(),
        delivery_outbox=store.delivery_outbox(),
        contacts=SqlContactDirectory(store.engine, clock=clock, pseudonyms=pseudonyms),
        segments=segments,
        suppressions=suppressions,
        audience=audience_source(
            settings,
            store,
            segments,
            suppressions,
            closers,
            cache_lookups=cache_lookups,
            circuits=circuits,
        ),
        templates=template_source(settings, closers, circuits=circuits),
        limiter=limiter,
        # Every hand-over goes out with its tracking (domain.execution.tracked_content).
        delivery=TrackedDelivery(delivery, links, tracker=planning),
        events=events,
        # Faster id hashing and GC tuning for the executor's fan-out (adapters.runtime).
        message_ids=FastMessageIds,
        fanout_scope=older_objects_left_alone,
        resolver=SystemResolver(),
        # The counters every writer keeps in its own transaction (docs/metrics.md).
        metric_ledger=store.metric_ledger(),
        inbound=inbound,
        metric_changes=signals,
        metric_feed=signals,
        pseudonyms=pseudonyms,
        tracking=links,
        dependency_checks=tuple(checks),
        observed=ObservedSources(
            figures=SqlOperationalFigures(store.engine),
            nats_connections=nats_connections(events, delivery, inbound, signals),
            consumer_lag=inbound.lag if inbound is not None else None,
            circuits=circuits,
        ),
        planner=planning,
    )


def planning_process(
    settings: Settings, links: SignedTrackingLinks, closers: Closers
) -> PlanningProcess | None:
    """Big batches are rendered and their links signed in a process of their own
    (CAMPAIGN_PLANNING_PROCESS; by default where there is a second core to run it)."""
    enabled = settings.planning_process
    if enabled is None:
        enabled = (os.cpu_count() or 1) >= 2
    if not enabled:
        return None
    planning = PlanningProcess(links)
    closers.register(planning.close)
    return planning


def nats_connections(
    events: EventPublisher,
    delivery: DeliveryPublisher,
    inbound: NatsInbound | None,
    signals: InProcessMetricChanges | NatsMetricChanges,
) -> dict[str, Callable[[], bool | None]]:
    """Each NATS connection's state reader, by a name for the metrics' `connection` label."""
    found: dict[str, Callable[[], bool | None]] = {}
    for name, adapter in (
        ("events", events),
        ("deliveries", delivery),
        ("inbound", inbound),
        ("metric_changes", signals),
    ):
        if isinstance(
            adapter, NatsEventPublisher | NatsDeliveryPublisher | NatsInbound | NatsMetricChanges
        ):
            found[name] = _state_of(adapter)
    return found


def _state_of(
    adapter: NatsEventPublisher | NatsDeliveryPublisher | NatsInbound | NatsMetricChanges,
) -> Callable[[], bool | None]:
    return lambda: adapter.connected


async def open_store(settings: Settings, closers: Closers) -> SqlStore:
    """SQLite in the data directory by default, else CAMPAIGN_DATABASE_URL. The embedded
    database is migrated on start; any other must already be at the current revision.
    StartupError when it cannot be opened (SchemaOutOfDateError when it is behind)."""
    url = database_url(settings)
    with startup_failures(url, "open"):
        engine = make_engine(url, statement_timeout_ms=settings.statement_timeout_ms)
        try:
            if settings.migrate_on_start:
                await upgrade_to_head(engine)
            else:
                await ensure_schema_current(engine)
        except BaseException:
            await engine.dispose()
            raise
    # Each outbox row records the span current when it was written: the RPC's, a worker's
    # (nothing while tracing is off; docs/observability-traces.md).
    store = SqlStore(engine, trace=CurrentTraceContext())
    trace_database(settings, store.engines)
    closers.register(store.close)
    return store


async def migrate_database(settings: Settings) -> str | None:
    """Bring the schema to the latest revision; returns that revision. StartupError when the
    database cannot be opened."""
    url = database_url(settings)
    with startup_failures(url, "migrate"):
        # No statement timeout for migrations: building an index on a large table may take long.
        engine = make_engine(url, statement_timeout_ms=0)
        try:
            await upgrade_to_head(engine)
            return await current_revision(engine)
        finally:
            await engine.dispose()


def database_url(settings: Settings) -> str:
    """The configured URL; for the default SQLite file, its owner-only data directory made."""
    if not settings.database_url:
        private_data_dir(settings.data_dir)
    return settings.effective_database_url


@contextmanager
def startup_failures(url: str, doing: str) -> Iterator[None]:
    try:
        with explained_failures(url, doing):
            yield
    except DatabaseStartupError as exc:
        raise StartupError(str(exc)) from exc


def event_publisher(settings: Settings, closers: Closers) -> EventPublisher:
    if not settings.nats_url:
        return InProcessEventBus()
    publisher = NatsEventPublisher(
        settings.nats_url,
        stream=settings.nats_stream,
        subject_prefix=settings.nats_subject_prefix,
    )
    closers.register(publisher.close)
    return publisher


def metric_signals(
    settings: Settings, closers: Closers
) -> InProcessMetricChanges | NatsMetricChanges:
    """Both ends of the counter change signals: in process by default; with NATS, core NATS on
    `<prefix>campaign.metric.updated`, so every replica's streams hear every replica's writes."""
    if not settings.nats_url:
        return InProcessMetricChanges()
    signals = NatsMetricChanges(settings.nats_url, subject_prefix=settings.nats_subject_prefix)
    closers.register(signals.close)
    return signals


def nats_inbound(settings: Settings, closers: Closers) -> NatsInbound | None:
    """The consumers of the subscribed subjects, on a connection of their own (which also
    publishes the dead-letter copies to our events stream); None without NATS or when off."""
    if not settings.nats_url or not settings.nats_inbound_enabled:
        return None
    prefix = settings.nats_subject_prefix
    link = JetStreamLink(
        settings.nats_url, stream=settings.nats_stream, subjects=f"{prefix}campaign.>"
    )
    inbound = NatsInbound(
        link,
        prefix,
        InboundOptions(
            stream=settings.nats_inbound_stream,
            max_deliver=settings.nats_inbound_max_deliver,
            retry_delay=settings.nats_inbound_retry_seconds,
            batch=settings.nats_inbound_batch,
            concurrency=share_per_worker(settings.nats_inbound_concurrency, settings),
            ack_wait=settings.nats_inbound_ack_wait_seconds,
        ),
    )
    closers.register(inbound.close)
    return inbound


def share_per_worker(total: int, settings: Settings) -> int:
    """A budget set per server (CAMPAIGN_NATS_INBOUND_CONCURRENCY) as each worker process's
    share: split over CAMPAIGN_SERVER_WORKERS (which the supervisor gives every worker), rounded
    up, at least 1. The single process keeps all of it. So the database sees the same number of
    inbound transactions at a time however many workers take the events: measured with two
    workers, 8 each drained a backlog about three times slower than 4 each
    (docs/performance.md, "Inbound events over worker processes")."""
    workers = settings.server_workers or 1
    return max(1, -(-total // workers))


def audience_source(
    settings: Settings,
    store: SqlStore,
    segments: SegmentStore,
    suppressions: SuppressionStore,
    closers: Closers,
    *,
    cache_lookups: CacheLookupRecorder | None = None,
    circuits: dict[str, Callable[[], str]] | None = None,
) -> AudienceSource:
    """The built-in directory, or the data service when CAMPAIGN_DATA_SERVICE_URL is set (its
    breaker's state goes into `circuits`, its cache lookups to `cache_lookups`)."""
    if not settings.data_service_url:
        return SqlAudienceSource(store.engine, segments)
    client = UpstreamClient(
        "data service", settings.data_service_url, token=_secret(settings.data_service_token)
    )
    closers.register(client.aclose)
    if circuits is not None:
        circuits[DATA_SERVICE] = lambda: client.circuit_state.value
    lookups = None
    if cache_lookups is not None:
        recorder = cache_lookups

        def lookups(cache: str, hit: bool) -> None:
            recorder(DATA_SERVICE, cache, hit)

    return HttpAudienceSource(client, suppressions, cache_lookups=lookups)


def template_source(
    settings: Settings, closers: Closers, *, circuits: dict[str, Callable[[], str]] | None = None
) -> TemplateSource | None:
    if not settings.creative_service_url:
        return None
    client = UpstreamClient(
        "creative service",
        settings.creative_service_url,
        token=_secret(settings.creative_service_token),
    )
    closers.register(client.aclose)
    if circuits is not None:
        circuits[CREATIVE_SERVICE] = lambda: client.circuit_state.value
    return HttpTemplateSource(client)


def rate_limiter(
    settings: Settings, closers: Closers, log: ReservationLog, checks: list[DependencyCheck]
) -> RateLimiter:
    """In process or in Redis, re-seeded from the database's reservation log whenever it lost
    its state (a restart or flush), so a restart never lets more through than the limit. Redis
    joins the start-up dependency `checks`."""
    if not settings.redis_url:
        return ReseedingRateLimiter(MemoryRateLimiter(require_seed=True), log)
    limiter = RedisRateLimiter(settings.redis_url, require_seed=True)
    closers.register(limiter.close)
    checks.append(DependencyCheck("CAMPAIGN_REDIS_URL", _address(settings.redis_url), limiter.ping))
    return ReseedingRateLimiter(limiter, log)


def delivery_publisher(settings: Settings, closers: Closers) -> DeliveryPublisher:
    if not settings.nats_url:
        return SandboxDelivery()  # reporting to the intake once there is one (below)
    publisher = NatsDeliveryPublisher(
        settings.nats_url,
        stream=settings.nats_delivery_stream,
        subject_prefix=settings.nats_subject_prefix,
    )
    closers.register(publisher.close)
    return publisher


def tracking_links(settings: Settings, base_url: str) -> SignedTrackingLinks:
    """Signed with CAMPAIGN_TRACKING_KEYS or the derived key (server/tracking_keys.py), under
    CAMPAIGN_TRACKING_BASE_URL, else `base_url`, else http://CAMPAIGN_HTTP_ADDRESS."""
    return SignedTrackingLinks(
        tracking_keys(settings),
        settings.tracking_base_url or base_url or f"http://{settings.http_address}",
        unsubscribe_mailto=settings.tracking_unsubscribe_mailto or "",
    )


def report_sandbox_deliveries(delivery: DeliveryPublisher, intake: EventIntake) -> None:
    """The sandbox reports its deliveries through the intake, as the notification service's
    `notification.delivered` would arrive (adapters/embedded/sandbox_delivery.py)."""
    if isinstance(delivery, TrackedDelivery):
        delivery = delivery.inner
    if isinstance(delivery, SandboxDelivery):
        delivery.report_to(intake)


def _address(url: str) -> str:
    parts = urlsplit(url.split(",", maxsplit=1)[0].strip())
    return f"{parts.hostname}:{parts.port}" if parts.port else str(parts.hostname or url)


def _secret(value: SecretStr | None) -> str | None:
    return value.get_secret_value() if value is not None else None
