"""Spans of the inbound events: one per message taken, a child of the trace its publisher sent
in the W3C headers (traceparent), so a trace crosses the broker (docs/observability-traces.md).

No-op spans while tracing is off (the OpenTelemetry API without an SDK provider).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import AbstractContextManager, contextmanager

from nats.aio.msg import Msg
from opentelemetry import trace

from adapters.trace_context import context_of

tracer = trace.get_tracer("campaign.nats.inbound")


def _attributes(msg: Msg) -> dict[str, str]:
    return {"messaging.system": "nats", "messaging.destination.name": msg.subject}


def taking(msg: Msg) -> AbstractContextManager[trace.Span]:
    """The span of one message's take, current while it runs (the database's spans nest in it)."""
    return tracer.start_as_current_span(
        f"process {msg.subject}",
        context=context_of(msg.headers),
        kind=trace.SpanKind.CONSUMER,
        attributes=_attributes(msg),
    )


@contextmanager
def taking_all(messages: Iterable[Msg]) -> Iterator[None]:
    """One span per message of a chunk taken in one transaction: they start and end together,
    each in its own publisher's trace (none is current: the chunk belongs to all of them)."""
    spans = [
        tracer.start_span(
            f"process {msg.subject}",
            context=context_of(msg.headers),
            kind=trace.SpanKind.CONSUMER,
            attributes=_attributes(msg),
        )
        for msg in messages
    ]
    try:
        yield
    finally:
        for span in spans:
            span.end()
