"""The gRPC server around the services, with health, reflection and the interceptors, started
and stopped as one Application."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Sequence
from dataclasses import dataclass

import grpc
import structlog
from campaign.v1 import (
    audience_service_pb2,
    audience_service_pb2_grpc,
    campaign_service_pb2,
    campaign_service_pb2_grpc,
    event_service_pb2,
    event_service_pb2_grpc,
    metrics_service_pb2,
    metrics_service_pb2_grpc,
)
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from server.composition.closers import Closers
from server.composition.factories import DependencyCheck, build_ports
from server.composition.services import Services, build_services
from server.generic_handlers import GenericHandlersOnly
from server.health import HealthReporter
from server.http.routes import tracking_app
from server.http.server import HttpServer, bind_socket
from server.interceptors.access_log import AccessLogInterceptor
from server.interceptors.authentication import AuthenticationInterceptor
from server.interceptors.errors import ErrorMappingInterceptor
from server.interceptors.requests import RequestCheckInterceptor
from server.interceptors.rpc_metrics import RpcMetricsInterceptor
from server.interceptors.wrapping import HandlerWrappingInterceptor, InterceptorPipeline
from server.listen_address import GRPC_OPTIONS, SHARED_PORT_OPTIONS, bind, ensure_bindable
from server.observability.live_readings import LiveReadings
from server.observability.prometheus import ServiceMetrics
from server.observability.sampler import FiguresSampler
from server.page_tokens import PageTokenSealer, page_token_sealer
from server.reflection_comments import CommentedPool
from server.servicers.audience import AudienceServicer
from server.servicers.campaigns import CampaignServicer
from server.servicers.events import EventServicer
from server.servicers.metrics import MetricsServicer
from server.settings import Settings
from server.startup import StartupError
from server.tokens import JwtKeys, TokenVerifier, load_keys
from server.tracing import start_tracing, tracing_interceptor
from server.workers.inbound_events import InboundEventsWorker
from server.workers.loop import WorkerLoop

DEPENDENCY_CHECK_SECONDS = 10.0  # above the NATS adapter's own connect timeout (5 s)
log = structlog.get_logger("campaign")

SERVICE_NAMES = (
    campaign_service_pb2.DESCRIPTOR.services_by_name["CampaignService"].full_name,
    audience_service_pb2.DESCRIPTOR.services_by_name["AudienceService"].full_name,
    metrics_service_pb2.DESCRIPTOR.services_by_name["MetricsService"].full_name,
    event_service_pb2.DESCRIPTOR.services_by_name["EventService"].full_name,
)


@dataclass
class Application:
    settings: Settings
    server: grpc.aio.Server
    port: int
    health: HealthReporter
    services: Services
    closers: Closers
    dependency_checks: tuple[DependencyCheck, ...] = ()
    http: HttpServer | None = None  # tracking links, /healthz, /metrics (docs/tracking.md)
    metrics: ServiceMetrics | None = None
    sampler: FiguresSampler | None = None  # the store's figures for /metrics
    # False in every worker process but one (docs/worker-processes.md): no scheduler, executor
    # or relays of its own; it serves calls and runs services.per_process.
    background: bool = True
    _reporting: asyncio.Task[None] | None = None

    @property
    def address(self) -> str:
        host = self.settings.grpc_address.rsplit(":", 1)[0]
        return f"{host}:{self.port}"

    @property
    def http_address(self) -> str:
        return self.http.address if self.http is not None else ""

    async def start(self) -> None:
        await self.health.refresh()
        await self.server.start()
        if self.http is not None and self.services.hits is not None:
            health = self.health
            await self.http.start(
                tracking_app(
                    self.services.hits, self.metrics or ServiceMetrics(), lambda: health.serving
                )
            )
        self.health.start()
        if self.sampler is not None:
            self.sampler.start()
        per_process = self.services.per_process
        for worker in per_process:
            worker.start()
        if self.background:
            self.services.relay.start()
            for worker in self.services.workers:
                worker.start()
            log.info(
                "background workers started",
                pid=os.getpid(),
                workers=[
                    "outbox-relay",
                    *(worker.name for worker in (*self.services.workers, *per_process)),
                ],
            )
        elif per_process:  # the NATS consumers, the hand-over of this process's triggers
            log.info(
                "per-process workers started",
                pid=os.getpid(),
                workers=[worker.name for worker in per_process],
            )
        self._reporting = asyncio.create_task(
            report_unreachable(self.dependency_checks), name="dependency-report"
        )

    async def stop(self) -> None:
        """Stop taking calls, let in-flight ones finish, then stop workers and connections."""
        if self._reporting is not None:
            self._reporting.cancel()
        await self.health.stop()
        if self.sampler is not None:
            await self.sampler.stop()
        # Live metric streams never end by themselves: end them (UNAVAILABLE, clients reconnect)
        # rather than let them hold the stop for its whole grace period.
        self.services.live_metrics.close()
        if self.http is not None:
            await self.http.stop()
        await self.server.stop(self.settings.shutdown_grace)
        for worker in (*self.services.per_process, *self.services.workers):
            await worker.stop()
        await self.services.relay.stop()
        report_inbound_taken(self.services.per_process)
        await self.closers.close_all()


def report_inbound_taken(workers: Sequence[WorkerLoop]) -> None:
    """How many inbound messages this process's consumers settled, per subject, logged at the
    stop: with worker processes (or replicas) JetStream spreads the events over all of them,
    and this is each one's share."""
    taken = {w.name: w.taken for w in workers if isinstance(w, InboundEventsWorker)}
    if taken:
        log.info("inbound events taken", pid=os.getpid(), taken=taken, total=sum(taken.values()))


async def report_unreachable(checks: Sequence[DependencyCheck]) -> None:
    """Log each shared dependency that does not answer right after the start. The service keeps
    serving (and health stays SERVING): the outbox holds events until NATS is back and sends
    wait for Redis, and a replica that refused to start would crash-loop through a broker's
    restart."""

    async def one(dependency: DependencyCheck) -> None:
        try:
            await asyncio.wait_for(dependency.check(), DEPENDENCY_CHECK_SECONDS)
        except Exception as exc:  # an outage, whatever form it takes: a report, not a crash
            log.warning(
                "dependency unreachable at start; serving anyway, its work waits for it",
                setting=dependency.setting,
                address=dependency.address,
                cause=str(exc).splitlines()[0] if str(exc) else type(exc).__name__,
            )

    await asyncio.gather(*(one(d) for d in checks))


def make_server(
    settings: Settings,
    services: Services,
    health: HealthReporter,
    keys: JwtKeys,
    page_tokens: PageTokenSealer,
    *,
    metrics: ServiceMetrics | None = None,
    shared_port: bool = False,
) -> tuple[grpc.aio.Server, int]:
    verifier = TokenVerifier(keys)
    layers: list[HandlerWrappingInterceptor] = [
        # outermost but tracing: counts every call, whatever the inner ones answer
        *([RpcMetricsInterceptor(metrics)] if metrics is not None else []),
        AccessLogInterceptor(),
        ErrorMappingInterceptor(),
        AuthenticationInterceptor(verifier),
        RequestCheckInterceptor(),  # innermost: decoding, caps and content, after authentication
    ]
    interceptors: list[grpc.aio.ServerInterceptor] = [InterceptorPipeline(layers)]
    tracing = tracing_interceptor(settings)
    server = grpc.aio.server(
        interceptors=[tracing, *interceptors] if tracing else interceptors,
        # so_reuseport off: a second server on a port in use fails its start instead of
        # sharing the callers (server/listen_address.py); on for the worker processes of one
        # supervisor, which share it on purpose (docs/worker-processes.md).
        options=SHARED_PORT_OPTIONS if shared_port else GRPC_OPTIONS,
    )
    served = GenericHandlersOnly(server)  # server/generic_handlers.py
    campaign_service_pb2_grpc.add_CampaignServiceServicer_to_server(
        CampaignServicer(
            services.campaigns,
            services.executions,
            page_tokens,
            send_now=services.send_now,
            evaluations=services.evaluations,
        ),
        served,
    )
    audience_service_pb2_grpc.add_AudienceServiceServicer_to_server(
        AudienceServicer(services.audiences, services.estimator, page_tokens), served
    )
    event_service_pb2_grpc.add_EventServiceServicer_to_server(
        EventServicer(services.tracking), served
    )
    metrics_service_pb2_grpc.add_MetricsServiceServicer_to_server(
        MetricsServicer(services.metrics, services.live_metrics, services.experiments), served
    )
    health_pb2_grpc.add_HealthServicer_to_server(health.servicer, served)
    reflection.enable_server_reflection(
        (
            *SERVICE_NAMES,
            health_pb2.DESCRIPTOR.services_by_name["Health"].full_name,
            reflection.SERVICE_NAME,
        ),
        server,
        pool=CommentedPool(),  # comments included (server/reflection_comments.py)
    )
    return server, bind(server, settings.grpc_address)


async def build_application(
    settings: Settings, *, shared_port: bool = False, background: bool = True
) -> Application:
    """The service, not yet started. StartupError (before anything connects) when production
    mode lacks its secret or the gRPC address is taken, or when the database cannot be opened.

    `shared_port`: a worker process, binding the ports its supervisor checked and holds (with
    SO_REUSEPORT, beside its siblings); `background`: whether this process runs the background
    workers (one process per server does)."""
    keys = load_keys(settings)
    if not shared_port:  # the supervisor's own hold on the port would fail this check
        ensure_bindable(settings.grpc_address)
    start_tracing(settings)  # before anything connects: its clients are traced from the start
    page_tokens = page_token_sealer(settings, keys)
    http = HttpServer(bind_socket(settings.http_address, shared=shared_port))
    closers = Closers()
    closers.register(http.stop)
    metrics = ServiceMetrics()
    try:
        ports = await build_ports(
            settings,
            closers,
            tracking_base_url=f"http://{http.address}",
            cache_lookups=metrics.cache_lookup,
        )
    except BaseException:
        await closers.close_all()
        raise
    services = build_services(settings, ports, metrics=metrics, background=background)
    health = HealthReporter(ports.health_probe, SERVICE_NAMES, settings.health_probe_interval)
    sampler = None
    if ports.observed is not None:
        observed = ports.observed
        metrics.registry.register(LiveReadings(observed.circuits, observed.nats_connections))
        sampler = FiguresSampler(metrics, observed, settings.metrics_sample_seconds)
    try:
        server, port = make_server(
            settings,
            services,
            health,
            keys,
            page_tokens,
            metrics=metrics,
            shared_port=shared_port,
        )
    except StartupError:  # the port was taken after ensure_bindable looked
        await closers.close_all()
        raise
    return Application(
        settings,
        server,
        port,
        health,
        services,
        closers,
        ports.dependency_checks,
        http=http,
        metrics=metrics,
        sampler=sampler,
        background=background,
    )
