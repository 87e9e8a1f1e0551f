"""The traces of idle worker steps are dropped before export, with every span inside them; a
step that did something, or failed, is exported whole, and spans of no step pass untouched."""

from __future__ import annotations

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from server.idle_steps import IdleStepFilter
from server.workers.spans import traced


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
