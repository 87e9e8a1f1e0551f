"""What a run tells those who watch it: operators' logs and the service's metrics.

The executor reports each run's start, every written batch, each throttle deferral and its end
through this port; the server turns the reports into log lines and Prometheus figures. A report
never changes the run: an observer that fails is the observer's problem, so implementations
must not raise.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from domain.execution.model import Execution, ExecutionStatus
from domain.kernel.channels import Channel


@dataclass(frozen=True, slots=True)
class BatchReport:
    """One fan-out batch, written and handed over."""

    recipients: int  # users the batch covered (queued, held back, suppressed or failed)
    queued: int  # messages written for delivery in it
    deferred_by_channel: Sequence[tuple[Channel, int]]  # throttle or quiet-hour deferrals
    seconds: float  # planning, throttling and writing, wall time


class ExecutionObserver(Protocol):
    def run_started(self, execution: Execution, audience: int, holdout_percentage: float) -> None:
        """The run began (first start only; a resumed run reports nothing new)."""

    def batch_written(self, execution: Execution, batch: BatchReport) -> None:
        """One more batch is written; `execution.counts` is the total so far."""

    def run_waiting(self, execution: Execution) -> None:
        """Fanned out, but deferred messages still wait for their slots (reported at each
        look, about every few seconds)."""

    def run_ended(self, execution: Execution, status: ExecutionStatus, reason: str) -> None:
        """COMPLETED, CANCELLED, FAILED (with `reason`) or PAUSED."""


class SilentObserver:
    """The default: nobody is watching."""

    def run_started(self, execution: Execution, audience: int, holdout_percentage: float) -> None:
        return None

    def batch_written(self, execution: Execution, batch: BatchReport) -> None:
        return None

    def run_waiting(self, execution: Execution) -> None:
        return None

    def run_ended(self, execution: Execution, status: ExecutionStatus, reason: str) -> None:
        return None


class ObserverFanOut:
    """Several observers as one (logs and metrics)."""

    def __init__(self, observers: Sequence[ExecutionObserver]) -> None:
        self._observers = tuple(observers)

    def run_started(self, execution: Execution, audience: int, holdout_percentage: float) -> None:
        for observer in self._observers:
            observer.run_started(execution, audience, holdout_percentage)

    def batch_written(self, execution: Execution, batch: BatchReport) -> None:
        for observer in self._observers:
            observer.batch_written(execution, batch)

    def run_waiting(self, execution: Execution) -> None:
        for observer in self._observers:
            observer.run_waiting(execution)

    def run_ended(self, execution: Execution, status: ExecutionStatus, reason: str) -> None:
        for observer in self._observers:
            observer.run_ended(execution, status, reason)
