"""Composition root: the one place that reads settings and picks an adapter for each port."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

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

from adapters.embedded.bus import InProcessEventBus
from adapters.nats.publisher import NatsEventPublisher
from adapters.sql.engine import make_engine
from adapters.sql.migrate import ensure_schema_current, upgrade_to_head
from adapters.sql.unit_of_work import SqlStore
from adapters.system import SystemClock, UuidGenerator
from domain.campaigns.service import CampaignService
from domain.kernel.ports import EventPublisher
from server.engine_wiring import Engine, build_engine
from server.health import HealthReporter
from server.interceptors.access_log import AccessLogInterceptor
from server.interceptors.authentication import AuthenticationInterceptor
from server.interceptors.errors import ErrorMappingInterceptor
from server.servicers.audience import AudienceServicer
from server.servicers.campaigns import CampaignServicer
from server.servicers.unimplemented import with_unimplemented
from server.settings import Settings
from server.tokens import TokenVerifier, load_keys
from server.tracing import tracing_interceptor
from server.workers.outbox_relay import OutboxRelayWorker

log = structlog.get_logger("campaign.bootstrap")

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
    store: SqlStore
    publisher: EventPublisher
    relay: OutboxRelayWorker
    health: HealthReporter
    engine: Engine

    @property
    def address(self) -> str:
        host = self.settings.grpc_address.rsplit(":", 1)[0]
        return f"{host}:{self.port}"

    async def start(self) -> None:
        await self.health.refresh()
        await self.server.start()
        self.relay.start()
        self.health.start()
        for worker in self.engine.workers:
            worker.start()

    async def stop(self) -> None:
        """Stop taking calls, let in-flight ones finish, then stop workers and connections."""
        await self.health.stop()
        await self.server.stop(self.settings.shutdown_grace)
        for worker in self.engine.workers:
            await worker.stop()
        await self.relay.stop()
        for close in self.engine.closers:
            await close()
        if isinstance(self.publisher, NatsEventPublisher):
            await self.publisher.close()
        await self.store.close()


async def open_store(settings: Settings) -> SqlStore:
    engine = make_engine(settings.effective_database_url)
    if settings.migrate_on_start:
        await upgrade_to_head(engine)
    else:
        await ensure_schema_current(engine)
    return SqlStore(engine)


def make_publisher(settings: Settings) -> EventPublisher:
    if settings.nats_url:
        return NatsEventPublisher(
            settings.nats_url,
            stream=settings.nats_stream,
            subject_prefix=settings.nats_subject_prefix,
        )
    return InProcessEventBus()


def make_server(
    settings: Settings, campaigns: CampaignService, engine: Engine, health: HealthReporter
) -> tuple[grpc.aio.Server, int]:
    verifier = TokenVerifier(load_keys(settings))
    interceptors = [
        AccessLogInterceptor(),
        ErrorMappingInterceptor(),
        AuthenticationInterceptor(verifier),
    ]
    tracing = tracing_interceptor(settings)
    server = grpc.aio.server(interceptors=[tracing, *interceptors] if tracing else interceptors)
    campaign_service_pb2_grpc.add_CampaignServiceServicer_to_server(
        CampaignServicer(campaigns, engine.execution_service), server
    )
    audience_service_pb2_grpc.add_AudienceServiceServicer_to_server(
        AudienceServicer(engine.audience_service, engine.estimator), server
    )
    for module, pb2, name in (
        (metrics_service_pb2_grpc, metrics_service_pb2, "MetricsService"),
        (event_service_pb2_grpc, event_service_pb2, "EventService"),
    ):
        servicer = with_unimplemented(
            getattr(module, f"{name}Servicer"), pb2.DESCRIPTOR.services_by_name[name]
        )()
        getattr(module, f"add_{name}Servicer_to_server")(servicer, server)
    health_pb2_grpc.add_HealthServicer_to_server(health.servicer, server)
    reflection.enable_server_reflection(
        (
            *SERVICE_NAMES,
            health_pb2.DESCRIPTOR.services_by_name["Health"].full_name,
            reflection.SERVICE_NAME,
        ),
        server,
    )
    port = server.add_insecure_port(settings.grpc_address)
    return server, port


async def build_application(settings: Settings) -> Application:
    store = await open_store(settings)
    publisher = make_publisher(settings)
    engine = build_engine(settings, store)
    campaigns = CampaignService(
        store.unit_of_work,
        SystemClock(),
        UuidGenerator(),
        min_schedule_lead=timedelta(seconds=settings.schedule_min_lead_seconds),
        templates=engine.templates,
        audience=engine.audience,
    )
    health = HealthReporter(store, SERVICE_NAMES, settings.health_probe_interval)
    server, port = make_server(settings, campaigns, engine, health)
    relay = OutboxRelayWorker(
        store.outbox_store(), publisher, poll_interval=settings.outbox_poll_interval
    )
    return Application(settings, server, port, store, publisher, relay, health, engine)
