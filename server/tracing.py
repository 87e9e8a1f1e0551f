"""OpenTelemetry tracing of every RPC, off unless CAMPAIGN_OTEL_EXPORTER says console or otlp."""

from __future__ import annotations

import grpc
from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter, SpanExporter

from server.settings import Settings


def tracing_interceptor(settings: Settings) -> grpc.aio.ServerInterceptor | None:
    if settings.otel_exporter == "none":
        return None
    exporter: SpanExporter
    if settings.otel_exporter == "otlp":
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import (  # noqa: PLC0415 - only when OTLP is on
            OTLPSpanExporter,
        )

        exporter = OTLPSpanExporter(endpoint=settings.otel_endpoint)
    else:
        exporter = ConsoleSpanExporter()
    provider = TracerProvider(resource=Resource.create({"service.name": "campaign-service"}))
    provider.add_span_processor(BatchSpanProcessor(exporter))
    trace.set_tracer_provider(provider)
    from opentelemetry.instrumentation.grpc import (  # noqa: PLC0415 - only when tracing
        aio_server_interceptor,
    )

    interceptor: grpc.aio.ServerInterceptor = aio_server_interceptor(tracer_provider=provider)
    return interceptor


def shutdown_tracing() -> None:
    provider = trace.get_tracer_provider()
    if isinstance(provider, TracerProvider):
        provider.shutdown()
