"""Traces of idle worker steps are dropped before export: a relay polling an empty outbox ten
times a second would otherwise bury the traces worth reading under its own (a poll, its
connect and its SELECT, each a span).

A worker step's span is a root marked with WORKER_ATTRIBUTE when it starts (server/workers/
spans.py) and with DONE_ATTRIBUTE, how much it did, when it ends. The spans of its trace are held
until the root ends, then exported with it, or dropped with it when it did nothing. A step that
failed carries no DONE_ATTRIBUTE and is kept. A step's spans go out in bunches of MAX_HELD, so a
long run holds no more than that.
"""

from __future__ import annotations

import threading

from opentelemetry.context import Context
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor

WORKER_ATTRIBUTE = "campaign.worker"
DONE_ATTRIBUTE = "campaign.worker.done"
MAX_HELD = 1_000


class IdleStepFilter(SpanProcessor):
    """Passes spans on to `inner`, but those of an idle worker step's trace not at all."""

    def __init__(self, inner: SpanProcessor) -> None:
        self._inner = inner
        self._held: dict[int, list[ReadableSpan]] = {}  # trace id -> its ended spans
        self._lock = threading.Lock()

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        if span.parent is None and WORKER_ATTRIBUTE in (span.attributes or {}):
            with self._lock:
                self._held[span.context.trace_id] = []
        self._inner.on_start(span, parent_context)

    def on_end(self, span: ReadableSpan) -> None:
        trace_id = span.context.trace_id if span.context is not None else 0
        with self._lock:
            held = self._held.get(trace_id)
            if held is None:  # not a worker step's
                release = [span]
            elif span.parent is not None:  # inside a step: held for the verdict
                held.append(span)
                if len(held) < MAX_HELD:
                    return
                release, self._held[trace_id] = held, []  # a busy step: out they go
            else:  # the step ended: what it did decides
                del self._held[trace_id]
                idle = (span.attributes or {}).get(DONE_ATTRIBUTE) == 0
                release = [] if idle else [*held, span]
        for ended in release:
            self._inner.on_end(ended)

    def shutdown(self) -> None:
        self._inner.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return self._inner.force_flush(timeout_millis)
