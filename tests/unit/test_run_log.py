"""Run log lines (server.observability.run_log): start, progress at a steady cadence (always
the first and the last batch), deferrals per batch, waiting at the same cadence, and the end,
each naming organization, campaign and execution. Time is a stepped fake clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from structlog.testing import capture_logs

from domain.execution.model import Execution, ExecutionStatus
from domain.execution.observer import BatchReport
from domain.kernel.channels import Channel
from server.observability.run_log import RunLog

INTERVAL = 10.0
T0 = datetime(2026, 12, 5, 9, 0, tzinfo=UTC)
IDS = {"organization_id": "org-1", "campaign_id": "c-1", "execution_id": "x-1"}


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def run_log(clock: Clock) -> RunLog:
    return RunLog(interval=INTERVAL, monotonic=clock)


def execution() -> Execution:
    return Execution(
        execution_id="x-1",
        campaign_id="c-1",
        organization_id="org-1",
        status=ExecutionStatus.RUNNING,
        trigger="manual",
        due_at=T0,
        created_at=T0,
        started_at=T0,
    )


def write(
    run_log: RunLog,
    run: Execution,
    users: int,
    *,
    queued: int | None = None,
    deferred: int = 0,
) -> None:
    """A batch of `users` recipients, `queued` of them written for delivery (all by default)."""
    sent = users if queued is None else queued
    run.counts.audience += users
    run.counts.queued += sent
    deferrals = ((Channel.EMAIL, deferred),) if deferred else ()
    run_log.batch_written(run, BatchReport(users, sent, deferrals, seconds=0.5))


def events(logs: list[dict[str, Any]], name: str) -> list[dict[str, Any]]:
    return [line for line in logs if line["event"] == name]


def test_a_run_logs_its_start_first_batch_each_interval_and_last_batch(
    run_log: RunLog, clock: Clock
):
    run = execution()
    with capture_logs() as logs:
        run_log.run_started(run, audience=1000, holdout_percentage=5.0)
        for _ in range(10):  # a batch of 100 every 3 s: 27 s in all
            write(run_log, run, 100)
            clock.now += 3

    progress = events(logs, "run progress")
    assert [p["processed"] for p in progress] == [100, 500, 900, 1000]  # first, +12 s, +24 s, last
    [started] = events(logs, "run started")
    assert started["audience"] == 1000
    assert started["holdout_percentage"] == 5.0
    assert started["trigger"] == "manual"
    assert all({k: line[k] for k in IDS} == IDS for line in logs)


def test_progress_says_sent_out_of_the_audience_with_its_rate_and_eta(
    run_log: RunLog, clock: Clock
):
    run = execution()
    with capture_logs() as logs:
        run_log.run_started(run, audience=1000, holdout_percentage=0.0)
        clock.now += 2
        write(run_log, run, 200, queued=150)  # 200 users covered in 2 s, 150 messages

    [line] = events(logs, "run progress")
    assert line["sent"] == 150
    assert line["total"] == 1000
    assert line["processed"] == 200
    assert line["percent"] == 20.0
    assert line["rate_per_s"] == 75.0
    assert line["eta_s"] == 8.0  # 800 users left at 100 per second


def test_a_last_batch_inside_the_interval_is_logged_when_the_run_ends(
    run_log: RunLog, clock: Clock
):
    run = execution()
    with capture_logs() as logs:
        run_log.run_started(run, audience=1000, holdout_percentage=0.0)
        write(run_log, run, 400)
        clock.now += 1
        write(run_log, run, 300)  # the audience shrank meanwhile: the last batch, unknown as such
        clock.now += 1
        run.completed_at = T0 + timedelta(seconds=2)
        run_log.run_ended(run, ExecutionStatus.COMPLETED, "")

    assert [line["event"] for line in logs] == [
        "run started", "run progress", "run progress", "run ended"
    ]  # fmt: skip
    assert logs[2]["processed"] == 700
    ended = logs[3]
    assert (ended["status"], ended["sent"], ended["duration_s"]) == ("completed", 700, 2.0)
    assert ended["log_level"] == "info"


def test_each_batch_with_deferrals_gets_one_line_with_their_count(run_log: RunLog):
    run = execution()
    with capture_logs() as logs:
        run_log.run_started(run, audience=300, holdout_percentage=0.0)
        write(run_log, run, 100, deferred=40)
        write(run_log, run, 100)
        write(run_log, run, 100, deferred=7)

    deferred = events(logs, "run deferred")
    assert [(d["deferred"], d["by_channel"]) for d in deferred] == [
        (40, {"email": 40}),
        (7, {"email": 7}),
    ]
    assert all({k: line[k] for k in IDS} == IDS for line in deferred)


def test_waiting_for_deferred_messages_is_logged_at_the_cadence_not_at_each_look(
    run_log: RunLog, clock: Clock
):
    run = execution()
    with capture_logs() as logs:
        run_log.run_started(run, audience=100, holdout_percentage=0.0)
        write(run_log, run, 100, deferred=100)
        for _ in range(25):  # the executor looks about every second
            clock.now += 1
            run_log.run_waiting(run)

    assert len(events(logs, "run waiting")) == 3  # at 1 s, 11 s and 21 s


def test_a_failed_run_ends_with_its_reason_at_error_level(run_log: RunLog):
    run = execution()
    with capture_logs() as logs:
        run_log.run_started(run, audience=100, holdout_percentage=0.0)
        run_log.run_ended(run, ExecutionStatus.FAILED, "SEGMENT_NOT_FOUND: segment 's' not found")

    [ended] = events(logs, "run ended")
    assert ended["log_level"] == "error"
    assert ended["status"] == "failed"
    assert ended["reason"] == "SEGMENT_NOT_FOUND: segment 's' not found"


def test_a_run_resumed_after_a_pause_measures_its_rate_from_the_resume(
    run_log: RunLog, clock: Clock
):
    run = execution()
    with capture_logs() as logs:
        run_log.run_started(run, audience=1000, holdout_percentage=0.0)
        write(run_log, run, 100)
        run_log.run_ended(run, ExecutionStatus.PAUSED, "")
        clock.now += 3600  # paused for an hour
        write(run_log, run, 100)  # took 0.5 s

    assert [line["event"] for line in logs] == [
        "run started", "run progress", "run paused", "run progress"
    ]  # fmt: skip
    assert logs[-1]["total"] == 1000
    assert logs[-1]["rate_per_s"] == 200.0


def test_a_run_started_by_another_process_is_followed_without_a_total(run_log: RunLog):
    run = execution()
    run.counts.audience = run.counts.queued = 5000  # written before this process took over
    with capture_logs() as logs:
        write(run_log, run, 100)

    [line] = events(logs, "run progress")
    assert (line["sent"], line["total"], line["processed"]) == (5100, None, 5100)
    assert line["rate_per_s"] == 200.0
    assert "eta_s" not in line


def test_a_report_that_fails_never_reaches_the_run():
    def broken_clock() -> float:
        raise OSError("no clock")

    run_log, run = RunLog(interval=INTERVAL, monotonic=broken_clock), execution()

    run_log.run_started(run, audience=10, holdout_percentage=0.0)
    run_log.batch_written(run, BatchReport(10, 10, (), seconds=0.1))
    run_log.run_waiting(run)
    run_log.run_ended(run, ExecutionStatus.COMPLETED, "")
