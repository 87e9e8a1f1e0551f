"""The traces of idle worker steps are dropped before export, with every span inside them; a
step that did something, or failed, is exported whole, and spans of no step pass untouched.
Each fan-out batch the executor reports is a span inside the step that wrote it."""

from __future__ import annotations

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from domain.execution.model import Execution, ExecutionStatus
from domain.execution.observer import BatchReport
from domain.kernel.channels import Channel
from server.idle_steps import IdleStepFilter
from server.workers.spans import ExecutionSpans, traced
from tests.contract.builders import T0


@pytest.fixture
def exported() -> InMemorySpanExporter:
    return InMemorySpanExporter()


@pytest.fixture
def provider(exported: InMemorySpanExporter) -> TracerProvider:
    provider = TracerProvider()
    provider.add_span_processor(IdleStepFilter(SimpleSpanProcessor(exported)))
    return provider


def step_doing(provider: TracerProvider, done: int, *, fails: bool = False):
    tracer = provider.get_tracer("test")

    async def step() -> int:
        with tracer.start_as_current_span("SELECT"):
            pass
        if fails:
            raise RuntimeError("database down")
        return done

    return step


@pytest.fixture(autouse=True)
def workers_use(provider: TracerProvider, monkeypatch: pytest.MonkeyPatch) -> None:
    """The workers' tracer draws from the test's provider (the global one is left alone)."""
    monkeypatch.setattr("server.workers.spans.tracer", provider.get_tracer("campaign.workers"))


def names(exported: InMemorySpanExporter) -> list[str]:
    return [span.name for span in exported.get_finished_spans()]


async def test_an_idle_step_leaves_no_trace(provider, exported) -> None:
    assert await traced("outbox relay", step_doing(provider, 0))() == 0
    assert names(exported) == []


async def test_a_step_that_did_something_is_exported_with_its_spans(provider, exported) -> None:
    assert await traced("outbox relay", step_doing(provider, 3))() == 3
    assert names(exported) == ["SELECT", "outbox relay"]
    child, root = exported.get_finished_spans()
    assert child.parent is not None
    assert child.parent.span_id == root.context.span_id


async def test_a_failed_step_is_exported(provider, exported) -> None:
    with pytest.raises(RuntimeError):
        await traced("outbox relay", step_doing(provider, 0, fails=True))()
    assert names(exported) == ["SELECT", "outbox relay"]


def test_spans_of_no_step_pass_untouched(provider, exported) -> None:
    tracer = provider.get_tracer("test")
    with (
        tracer.start_as_current_span("/CampaignService/CreateCampaign"),
        tracer.start_as_current_span("INSERT"),
    ):
        pass
    assert names(exported) == ["INSERT", "/CampaignService/CreateCampaign"]


async def test_each_written_batch_is_a_span_inside_the_executor_step(provider, exported) -> None:
    execution = Execution("x-1", "c-1", "org-a", ExecutionStatus.RUNNING, "manual", T0, T0)
    batch = BatchReport(
        recipients=100, queued=90, deferred_by_channel=[(Channel.EMAIL, 7)], seconds=0.25
    )

    async def step() -> int:
        ExecutionSpans().batch_written(execution, batch)
        return 1

    await traced("executor step", step)()

    written, root = exported.get_finished_spans()
    assert (written.name, root.name) == ("fan-out batch", "executor step")
    assert written.parent is not None
    assert written.parent.span_id == root.context.span_id
    assert written.end_time - written.start_time == 250_000_000  # the report's time, in ns
    assert dict(written.attributes or {}) == {
        "campaign.execution_id": "x-1",
        "campaign.campaign_id": "c-1",
        "campaign.organization_id": "org-a",
        "campaign.batch.recipients": 100,
        "campaign.batch.queued": 90,
        "campaign.batch.deferred": 7,
    }
