"""Spans of the background work: one per worker step (a scheduler tick, an executor step, a
relay's batch) and one per fan-out batch the executor wrote, so the database and broker calls
of each nest under what they were for (docs/observability-traces.md).

The trace of a step that did nothing (an idle poll) is dropped before export
(server/idle_steps.py). While tracing is off the spans are no-ops. The executor is domain code,
which knows nothing of OpenTelemetry: its batches are heard through the ExecutionObserver port,
after they were written.
"""

from __future__ import annotations

import time

from opentelemetry import trace

from domain.execution.model import Execution, ExecutionStatus
from domain.execution.observer import BatchReport
from server.idle_steps import DONE_ATTRIBUTE, WORKER_ATTRIBUTE
from server.workers.loop import Step

tracer = trace.get_tracer("campaign.workers")


def traced(name: str, step: Step) -> Step:
    """`step`, each call in a span named `name` that records how much it did."""

    async def run() -> int | bool:
        with tracer.start_as_current_span(name, attributes={WORKER_ATTRIBUTE: name}) as span:
            done = await step()
            span.set_attribute(DONE_ATTRIBUTE, int(done))
            return done

    return run


class ExecutionSpans:
    """The ExecutionObserver that turns each written batch into a span, a child of the step
    that wrote it, timed by the report (it comes once the batch is written)."""

    def run_started(self, execution: Execution, audience: int, holdout_percentage: float) -> None:
        trace.get_current_span().add_event(
            "run started", {"campaign.execution_id": execution.execution_id}
        )

    def batch_written(self, execution: Execution, batch: BatchReport) -> None:
        end = time.time_ns()
        span = tracer.start_span(
            "fan-out batch",
            start_time=end - int(batch.seconds * 1e9),
            attributes={
                "campaign.execution_id": execution.execution_id,
                "campaign.campaign_id": execution.campaign_id,
                "campaign.organization_id": execution.organization_id,
                "campaign.batch.recipients": batch.recipients,
                "campaign.batch.queued": batch.queued,
                "campaign.batch.deferred": sum(count for _, count in batch.deferred_by_channel),
            },
        )
        span.end(end_time=end)

    def run_waiting(self, execution: Execution) -> None:
        return None

    def run_ended(self, execution: Execution, status: ExecutionStatus, reason: str) -> None:
        trace.get_current_span().add_event(
            "run ended",
            {
                "campaign.execution_id": execution.execution_id,
                "campaign.execution.status": status.value,
                "campaign.execution.reason": reason,
            },
        )
