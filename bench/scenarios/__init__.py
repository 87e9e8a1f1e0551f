"""The scenario registry: name -> module. A scenario module defines

    DESCRIPTION: str
    def run(emit: Emit, settings: LoadSettings) -> None

and calls `emit(line)` once per measurement, a flat JSON-able dict with at least `scenario`,
`metric`, `value` and, where a baseline applies, `baseline` and `ratio`. Modules are imported only
when their scenario runs, so one scenario's dependencies never slow down or break another.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from types import ModuleType
from typing import Any

Emit = Callable[[dict[str, Any]], None]

SCENARIOS: dict[str, str] = {
    "api": "bench.scenarios.api",
    "execute-1m": "bench.scenarios.execute",
    "execute-100k-embedded": "bench.scenarios.execute_embedded",
    "metrics-lag": "bench.scenarios.metrics_lag",
    "trigger-latency": "bench.scenarios.trigger_latency",
}


def load(name: str) -> ModuleType:
    return importlib.import_module(SCENARIOS[name])
