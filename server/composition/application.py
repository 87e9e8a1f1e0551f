"""The gRPC server around the services, with health, reflection and the interceptors, started
and stopped as one Application."""

from __future__ import annotations

from dataclasses import dataclass

import grpc
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
from server.composition.factories import build_ports
from server.composition.services import Services, build_services
from server.health import HealthReporter
from server.interceptors.access_log import AccessLogInterceptor
from server.interceptors.authentication import AuthenticationInterceptor
from server.interceptors.errors import ErrorMappingInterceptor
from server.interceptors.requests import RequestCheckInterceptor
from server.servicers.audience import AudienceServicer
from server.servicers.campaigns import CampaignServicer
from server.servicers.unimplemented import with_unimplemented
from server.settings import Settings
from server.tokens import TokenVerifier, load_keys
from server.tracing import tracing_interceptor

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

    @property
    def address(self) -> str:
        host = self.settings.grpc_address.rsplit(":", 1)[0]
        return f"{host}:{self.port}"

    async def start(self) -> None:
        await self.health.refresh()
        await self.server.start()
        self.services.relay.start()
        self.health.start()
        for worker in self.services.workers:
            worker.start()

    async def stop(self) -> None:
        """Stop taking calls, let in-flight ones finish, then stop workers and connections."""
        await self.health.stop()
        await self.server.stop(self.settings.shutdown_grace)
        for worker in self.services.workers:
            await worker.stop()
        await self.services.relay.stop()
        await self.closers.close_all()


def make_server(
    settings: Settings, services: Services, health: HealthReporter
) -> tuple[grpc.aio.Server, int]:
    verifier = TokenVerifier(load_keys(settings))
    interceptors = [
        AccessLogInterceptor(),
        ErrorMappingInterceptor(),
        AuthenticationInterceptor(verifier),
        RequestCheckInterceptor(),  # innermost: checks the request after authentication
    ]
    tracing = tracing_interceptor(settings)
    server = grpc.aio.server(interceptors=[tracing, *interceptors] if tracing else interceptors)
    campaign_service_pb2_grpc.add_CampaignServiceServicer_to_server(
        CampaignServicer(services.campaigns, services.executions), server
    )
    audience_service_pb2_grpc.add_AudienceServiceServicer_to_server(
        AudienceServicer(services.audiences, services.estimator), server
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
    closers = Closers()
    ports = await build_ports(settings, closers)
    services = build_services(settings, ports)
    health = HealthReporter(ports.health_probe, SERVICE_NAMES, settings.health_probe_interval)
    server, port = make_server(settings, services, health)
    return Application(settings, server, port, health, services, closers)
