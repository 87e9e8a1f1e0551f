"""OpenTelemetry tracing, off unless CAMPAIGN_OTEL_EXPORTER says console or otlp.

On, it installs the SDK provider once, before anything connects, with the contrib
instrumentations of Redis and httpx (they patch the client classes, so every client is traced)
and, per engine, of SQLAlchemy; every RPC gets a span from the gRPC server interceptor, which
continues a caller's W3C traceparent. Off, nothing is installed and the OpenTelemetry API hands
out no-op spans, so the spans the workers and adapters open cost next to nothing
(docs/observability-traces.md).
"""

from __future__ import annotations

from collections.abc import Sequence

import grpc
from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter, SpanExporter
from sqlalchemy.ext.asyncio import AsyncEngine

from server.idle_steps import IdleStepFilter
from server.settings import Settings

SERVICE_NAME = "campaign-service"


def tracing_on(settings: Settings) -> bool:
    return settings.otel_exporter != "none"


def start_tracing(settings: Settings) -> TracerProvider | None:
    """The process's provider, installed on the first call (None while tracing is off)."""
    if not tracing_on(settings):
        return None
    current = trace.get_tracer_provider()
    if isinstance(current, TracerProvider):
        return current
    provider = TracerProvider(resource=Resource.create({"service.name": SERVICE_NAME}))
    # Idle worker polls' traces dropped: they would bury the ones worth reading.
    provider.add_span_processor(IdleStepFilter(BatchSpanProcessor(_exporter(settings))))
    trace.set_tracer_provider(provider)
    from opentelemetry.instrumentation.httpx import (  # noqa: PLC0415 - only when tracing
        HTTPXClientInstrumentor,
    )
    from opentelemetry.instrumentation.redis import (  # noqa: PLC0415 - only when tracing
        RedisInstrumentor,
    )

    RedisInstrumentor().instrument(tracer_provider=provider)
    HTTPXClientInstrumentor().instrument(tracer_provider=provider)
    return provider


def trace_database(settings: Settings, engines: Sequence[AsyncEngine]) -> None:
    """A span per SQL statement on these engines, when tracing is on (once per process: the
    instrumentor is a singleton). The dependency check is skipped: the contrib package declares
    SQLAlchemy < 2.1, and its engine events work on the 2.1 we run (the tests show it)."""
    provider = start_tracing(settings)
    if provider is None:
        return
    from opentelemetry.instrumentation.sqlalchemy import (  # noqa: PLC0415 - only when tracing
        SQLAlchemyInstrumentor,
    )

    instrumentor = SQLAlchemyInstrumentor()
    if not instrumentor.is_instrumented_by_opentelemetry:
        instrumentor.instrument(
            engines=[engine.sync_engine for engine in engines],
            tracer_provider=provider,
            skip_dep_check=True,
        )


def tracing_interceptor(settings: Settings) -> grpc.aio.ServerInterceptor | None:
    """The RPC spans (continuing the caller's traceparent, if it sent one); None when off."""
    provider = start_tracing(settings)
    if provider is None:
        return None
    from opentelemetry.instrumentation.grpc import (  # noqa: PLC0415 - only when tracing
        aio_server_interceptor,
    )

    interceptor: grpc.aio.ServerInterceptor = aio_server_interceptor(tracer_provider=provider)
    return interceptor


def shutdown_tracing() -> None:
    """Export what is still buffered."""
    provider = trace.get_tracer_provider()
    if isinstance(provider, TracerProvider):
        provider.shutdown()


def _exporter(settings: Settings) -> SpanExporter:
    if settings.otel_exporter == "otlp":
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import (  # noqa: PLC0415 - only when OTLP is on
            OTLPSpanExporter,
        )

        return OTLPSpanExporter(endpoint=settings.otel_endpoint)
    return ConsoleSpanExporter()
