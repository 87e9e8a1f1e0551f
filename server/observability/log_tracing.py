"""Trace and span ids on each log line written inside a traced call, so a line found in the
logs leads to its trace (CAMPAIGN_OTEL_EXPORTER) and a slow span to its lines."""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import Any

from opentelemetry import trace


def add_trace_ids(
    _logger: object, _method: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """structlog processor: trace_id and span_id (hex, as exporters show them) of the current
    span, when there is one. Installed only when tracing is on."""
    context = trace.get_current_span().get_span_context()
    if context.is_valid:
        event_dict["trace_id"] = format(context.trace_id, "032x")
        event_dict["span_id"] = format(context.span_id, "016x")
    return event_dict
