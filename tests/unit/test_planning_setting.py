"""CAMPAIGN_PLANNING_PROCESS: a child process renders big batches where there is a core for it."""

from __future__ import annotations

from typing import Any

import pytest

from adapters.runtime.planning_process import PlanningProcess
from adapters.tracking.links import SignedTrackingLinks
from server.composition import factories
from server.composition.closers import Closers
from server.settings import Settings

LINKS = SignedTrackingLinks([b"k" * 32], "https://t.example")


def settings(**values: Any) -> Settings:
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


@pytest.mark.parametrize(
    ("cores", "value", "expected"),
    [
        (2, None, True),
        (8, None, True),
        (1, None, False),
        (None, None, False),  # os.cpu_count() cannot tell
        (2, False, False),
        (1, True, True),
    ],
)
def test_the_planning_process_is_on_by_default_with_a_second_core(
    monkeypatch: pytest.MonkeyPatch, cores: int | None, value: bool | None, expected: bool
) -> None:
    monkeypatch.setattr(factories.os, "cpu_count", lambda: cores)
    closers = Closers()

    planning = factories.planning_process(settings(planning_process=value), LINKS, closers)

    assert isinstance(planning, PlanningProcess) is expected
    assert (planning is None) is not expected


def test_the_setting_reads_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CAMPAIGN_PLANNING_PROCESS", "false")

    assert settings().planning_process is False
