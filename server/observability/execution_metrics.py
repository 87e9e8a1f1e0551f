"""The executor's reports (domain.execution.observer) as Prometheus figures: runs started and
ended by status, each fan-out batch's duration, recipients and queued messages, and the
limiter's deferrals by channel. Labels are statuses and channels only, never a campaign.

An observer must never disturb the run it watches: a failure here is swallowed (and logged
at debug level), never raised into the executor."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import structlog

from domain.execution.model import Execution, ExecutionStatus
from domain.execution.observer import BatchReport
from server.observability.prometheus import ServiceMetrics

log = structlog.get_logger("campaign.metrics")


class ExecutionMetrics:
    """An ExecutionObserver."""

    def __init__(self, metrics: ServiceMetrics) -> None:
        self._m = metrics

    def run_started(self, execution: Execution, audience: int, holdout_percentage: float) -> None:
        with _never_raising():
            self._m.runs_started.inc()

    def batch_written(self, execution: Execution, batch: BatchReport) -> None:
        with _never_raising():
            self._m.batch_seconds.observe(max(batch.seconds, 0.0))
            self._m.batch_recipients.inc(batch.recipients)
            self._m.batch_queued.inc(batch.queued)
            for channel, deferred in batch.deferred_by_channel:
                if deferred:
                    self._m.limiter_deferrals.labels(channel=channel.value).inc(deferred)

    def run_waiting(self, execution: Execution) -> None:
        return None  # the delivery backlog's gauges tell what waits

    def run_ended(self, execution: Execution, status: ExecutionStatus, reason: str) -> None:
        with _never_raising():
            self._m.runs_ended.labels(status=status.value).inc()


@contextlib.contextmanager
def _never_raising() -> Iterator[None]:
    try:
        yield
    except Exception:
        log.debug("execution metrics not recorded", exc_info=True)
