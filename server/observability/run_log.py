"""Log lines an operator can follow a run by: its start, its progress at a steady cadence, its
throttle deferrals, its wait for deferred messages and its end (docs/observability.md, "Logs").

An ExecutionObserver (domain.execution.observer). Every line names the organization, campaign
and execution, and never a recipient: only counts. Progress is "sent" (messages written for
delivery, counts.queued) out of the audience counted at the start, with the rate and an ETA
from what this process saw of the run. A run of a million recipients writes a hundred batches:
one line each would drown the rest, so a run's progress is logged at most once every
`interval` seconds, plus always its first batch and its last (flushed when the run waits or
ends). The waiting state, reported at every look (about each second), gets the same cadence.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ParamSpec

import structlog

from domain.execution.model import Execution, ExecutionStatus
from domain.execution.observer import BatchReport

log = structlog.get_logger("campaign.run")
P = ParamSpec("P")
MAX_RUNS = 10_000  # runs followed at once; past it the oldest is forgotten (taken over elsewhere)


@dataclass(slots=True)
class _Run:
    """What this process saw of one run: where its rate is measured from, what was logged."""

    total: int | None  # the audience counted at the start; None when it started elsewhere
    since: float  # monotonic seconds at which `sent_before` and `processed_before` held
    sent_before: int
    processed_before: int
    last_progress: float | None = None
    last_waiting: float | None = None
    unlogged: bool = False  # a batch was written after the last progress line
    paused: bool = False


def never_raises(report: Callable[P, None]) -> Callable[P, None]:
    """An observer must not change the run it watches (domain.execution.observer): a line
    that cannot be written is lost, the run goes on."""

    @functools.wraps(report)
    def guarded(*args: P.args, **kwargs: P.kwargs) -> None:
        try:
            report(*args, **kwargs)
        except Exception:  # nothing a log line's failure may stop
            return

    return guarded


def ids(execution: Execution) -> dict[str, str]:
    return {
        "organization_id": execution.organization_id,
        "campaign_id": execution.campaign_id,
        "execution_id": execution.execution_id,
    }


class RunLog:
    """Logs each run's life; `monotonic` is injectable so tests can step time."""

    def __init__(self, *, interval: float, monotonic: Callable[[], float] = time.monotonic) -> None:
        self._interval = interval
        self._now = monotonic
        self._runs: dict[str, _Run] = {}

    @never_raises
    def run_started(self, execution: Execution, audience: int, holdout_percentage: float) -> None:
        now = self._now()
        self._remember(
            execution, _Run(audience, now, execution.counts.queued, execution.counts.audience)
        )
        log.info(
            "run started",
            **ids(execution),
            audience=audience,
            holdout_percentage=holdout_percentage,
            trigger=execution.trigger,
        )

    @never_raises
    def batch_written(self, execution: Execution, batch: BatchReport) -> None:
        now = self._now()
        run = self._runs.get(execution.execution_id)
        if run is None or run.paused:
            # Resumed (here after a pause, or after another process held it): rates count
            # from just before this batch, the time it took back.
            total = run.total if run is not None else None
            run = _Run(
                total,
                now - batch.seconds,
                execution.counts.queued - batch.queued,
                execution.counts.audience - batch.recipients,
            )
            self._remember(execution, run)
        deferred = sum(n for _, n in batch.deferred_by_channel)
        if deferred:
            log.info(
                "run deferred",
                **ids(execution),
                deferred=deferred,
                by_channel={str(channel): n for channel, n in batch.deferred_by_channel},
                batch_recipients=batch.recipients,
            )
        last = run.total is not None and execution.counts.audience >= run.total
        if run.last_progress is None or last or now - run.last_progress >= self._interval:
            self._progress(execution, run, now)
        else:
            run.unlogged = True

    @never_raises
    def run_waiting(self, execution: Execution) -> None:
        now = self._now()
        run = self._runs.get(execution.execution_id)
        if run is None:
            run = _Run(None, now, execution.counts.queued, execution.counts.audience)
            self._remember(execution, run)
        if run.unlogged:
            self._progress(execution, run, now)
        if run.last_waiting is not None and now - run.last_waiting < self._interval:
            return
        run.last_waiting = now
        log.info(
            "run waiting",
            **ids(execution),
            detail="fanned out; deferred messages wait for their throttle slots",
            sent=execution.counts.queued,
        )

    @never_raises
    def run_ended(self, execution: Execution, status: ExecutionStatus, reason: str) -> None:
        now = self._now()
        run = self._runs.get(execution.execution_id)
        if run is not None and run.unlogged:
            self._progress(execution, run, now)  # the last batch is always logged
        if status is ExecutionStatus.PAUSED:
            if run is not None:
                run.paused = True
            log.info("run paused", **ids(execution), sent=execution.counts.queued)
            return
        self._runs.pop(execution.execution_id, None)
        fields: dict[str, Any] = {**ids(execution), "status": status.value}
        fields.update(_outcome(execution))
        if status is ExecutionStatus.FAILED:
            log.error("run ended", **fields, reason=reason)
        else:
            log.info("run ended", **fields)

    def _progress(self, execution: Execution, run: _Run, now: float) -> None:
        run.last_progress, run.unlogged = now, False
        counts = execution.counts
        elapsed = max(now - run.since, 1e-9)
        processing = (counts.audience - run.processed_before) / elapsed
        fields: dict[str, Any] = {
            "sent": counts.queued,
            "total": run.total,
            "processed": counts.audience,
            "rate_per_s": round((counts.queued - run.sent_before) / elapsed, 1),
        }
        if run.total:
            fields["percent"] = round(min(counts.audience / run.total, 1.0) * 100, 1)
            left = max(run.total - counts.audience, 0)
            fields["eta_s"] = round(left / processing, 1) if processing > 0 else None
        log.info("run progress", **ids(execution), **fields)

    def _remember(self, execution: Execution, run: _Run) -> None:
        self._runs.pop(execution.execution_id, None)
        self._runs[execution.execution_id] = run
        while len(self._runs) > MAX_RUNS:
            del self._runs[next(iter(self._runs))]


def _outcome(execution: Execution) -> dict[str, Any]:
    counts = execution.counts
    out: dict[str, Any] = {
        "sent": counts.queued,
        "processed": counts.audience,
        "holdout": counts.holdout,
        "suppressed": counts.suppressed,
        "unreachable": counts.unreachable,
        "failed": counts.failed,
    }
    started, ended = execution.started_at, execution.completed_at
    if started is not None and ended is not None:
        out["duration_s"] = round((ended - started).total_seconds(), 1)
    return out
