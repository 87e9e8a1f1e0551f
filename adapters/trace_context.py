"""The W3C trace context (traceparent, tracestate) of the current span, as the one opaque string
the outbox stores with a row and the NATS headers carry (docs/observability-traces.md).

The format is ours and small: the traceparent, then a newline and the tracestate when there is
one (a tracestate never holds a newline). The W3C propagator is used directly, not the global
one, so what is stored does not depend on which propagators a deployment configured.
"""

from __future__ import annotations

from collections.abc import Mapping

from opentelemetry.context import Context
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

TRACEPARENT = "traceparent"
TRACESTATE = "tracestate"
_W3C = TraceContextTextMapPropagator()


class CurrentTraceContext:
    """The TraceContext port: the span current in this task (the RPC's, a worker step's)."""

    def current(self) -> str | None:
        """None without a recording span: tracing off (no SDK provider) or nothing traced."""
        carrier: dict[str, str] = {}
        _W3C.inject(carrier)
        return encode(carrier)


def encode(carrier: Mapping[str, str]) -> str | None:
    parent = carrier.get(TRACEPARENT)
    if not parent:
        return None
    state = carrier.get(TRACESTATE)
    return f"{parent}\n{state}" if state else parent


def headers_of(trace_context: str | None) -> dict[str, str]:
    """The message headers that carry a stored context on (none for None)."""
    if not trace_context:
        return {}
    parent, _, state = trace_context.partition("\n")
    headers = {TRACEPARENT: parent}
    if state:
        headers[TRACESTATE] = state
    return headers


def context_of(headers: Mapping[str, str] | None) -> Context:
    """The remote context a message's headers carry: parent of the span that handles it (an
    empty context, so a new trace, when there is none or it does not parse)."""
    return _W3C.extract(dict(headers or {}))
