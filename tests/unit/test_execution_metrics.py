"""The executor's reports as Prometheus figures: runs started and ended by status, every
batch's duration, recipients and queued messages, the limiter's deferrals by channel; and an
observer that fails never disturbs the run."""

from __future__ import annotations

from datetime import UTC, datetime

from prometheus_client.parser import text_string_to_metric_families

from domain.execution.model import Execution, ExecutionStatus
from domain.execution.observer import BatchReport, ObserverFanOut
from domain.kernel.channels import Channel
from server.observability.execution_metrics import ExecutionMetrics
from server.observability.prometheus import ServiceMetrics

NOW = datetime(2026, 12, 5, 9, 0, tzinfo=UTC)


def execution() -> Execution:
    return Execution("run-1", "cmp-1", "org-1", ExecutionStatus.RUNNING, "manual", NOW, NOW)


def value(metrics: ServiceMetrics, name: str, **labels: str) -> float:
    return metrics.registry.get_sample_value(name, labels) or 0.0


def test_a_run_with_two_batches_moves_its_figures() -> None:
    metrics = ServiceMetrics()
    observer = ObserverFanOut([ExecutionMetrics(metrics)])
    run = execution()

    observer.run_started(run, audience=30, holdout_percentage=0.0)
    observer.batch_written(
        run, BatchReport(20, 18, ((Channel.EMAIL, 5), (Channel.SMS, 0)), seconds=0.02)
    )
    observer.batch_written(run, BatchReport(10, 10, ((Channel.EMAIL, 2),), seconds=0.3))
    observer.run_waiting(run)
    observer.run_ended(run, ExecutionStatus.COMPLETED, "")

    assert value(metrics, "campaign_execution_runs_started_total") == 1
    assert value(metrics, "campaign_execution_runs_ended_total", status="completed") == 1
    assert value(metrics, "campaign_fanout_batch_duration_seconds_count") == 2
    assert value(metrics, "campaign_fanout_batch_duration_seconds_sum") == 0.32
    assert value(metrics, "campaign_fanout_batch_duration_seconds_bucket", le="0.025") == 1
    assert value(metrics, "campaign_fanout_recipients_total") == 30
    assert value(metrics, "campaign_fanout_messages_queued_total") == 28
    assert value(metrics, "campaign_limiter_deferrals_total", channel="email") == 7
    assert value(metrics, "campaign_limiter_deferrals_total", channel="sms") == 0


def test_a_failing_observer_never_raises_into_the_run() -> None:
    metrics = ServiceMetrics()
    observer = ExecutionMetrics(metrics)
    run = execution()
    # A negative count is refused by prometheus_client (ValueError): swallowed here.
    observer.batch_written(run, BatchReport(-1, -1, ((Channel.EMAIL, -3),), seconds=-1.0))
    observer.run_ended(run, ExecutionStatus.FAILED, "the data service is down")
    assert value(metrics, "campaign_execution_runs_ended_total", status="failed") == 1


def test_labels_carry_no_campaign_or_execution_id() -> None:
    metrics = ServiceMetrics()
    observer = ExecutionMetrics(metrics)
    run = execution()
    observer.run_started(run, 1, 0.0)
    observer.batch_written(run, BatchReport(1, 1, ((Channel.EMAIL, 1),), seconds=0.1))
    observer.run_ended(run, ExecutionStatus.COMPLETED, "")
    text = metrics.exposition().decode()
    families = list(text_string_to_metric_families(text))
    assert families
    assert "cmp-1" not in text
    assert "run-1" not in text
    assert "org-1" not in text
