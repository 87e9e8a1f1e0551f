"""What one render may spend, and the meter that counts what it has spent (docs/rendering.md).

Jinja2's SandboxedEnvironment keeps templates away from Python internals but bounds neither
work nor memory; the checks in template_checks and template_filters charge every operation
that can grow a value without bound, before it runs, to a `RenderBudget`: CPU time,
characters, loop iterations.

A render runs inside `metered(budget)`, which keeps the per-render state in a contextvar (so a
render on a worker thread and one on the event loop never share it). Exceeding the budget raises
`BudgetExceeded`; the caller turns it into the error its callers expect.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterable, Iterator, Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from jinja2.runtime import Undefined
from jinja2.utils import Namespace

# Contract caps, not operational settings: a number bigger than this is never marketing copy
# (about 3,000 decimal digits; Python itself refuses to print more than 4,300), and deeper
# nesting or macro recursion only serves to exhaust the stack.
MAX_INT_BITS = 10_000
MAX_NESTING = 32
MAX_CALL_DEPTH = 64
# Everything a render builds along the way (values written inside loops, macros and
# `{% set %}` blocks, the text of each loop iteration) may be this many times the output budget.
WORK_FACTOR = 4


@dataclass(frozen=True, slots=True)
class RenderBudget:
    """What one render may spend: CPU milliseconds, output characters and loop iterations."""

    cpu_ms: float = 500.0
    max_output_chars: int = 1_000_000
    max_loop_iterations: int = 100_000


class BudgetExceeded(Exception):
    """A render (or a constant in a template) would exceed its budget."""


class Meter:
    """One render's spending so far, checked against its budget at each step."""

    __slots__ = ("budget", "deadline", "depth", "iterations", "missing", "written")

    def __init__(self, budget: RenderBudget, missing: set[str]) -> None:
        self.budget = budget
        self.deadline = time.thread_time() + budget.cpu_ms / 1000
        self.iterations = 0
        self.written = 0
        self.depth = 0
        self.missing = missing

    def tick(self) -> None:
        if time.thread_time() > self.deadline:
            raise BudgetExceeded(f"rendering took more than {self.budget.cpu_ms:g} ms of CPU time")

    def iterate(self, literal_chars: int = 0) -> None:
        self.iterations += 1
        if self.iterations > self.budget.max_loop_iterations:
            raise BudgetExceeded(
                f"loops ran more than {self.budget.max_loop_iterations} iterations in all"
            )
        if literal_chars:
            self.write(literal_chars)
        if not self.iterations & 63:
            self.tick()

    def write(self, chars: int) -> None:
        self.written += chars
        if self.written > WORK_FACTOR * self.budget.max_output_chars:
            raise BudgetExceeded(
                f"the template builds more than {WORK_FACTOR * self.budget.max_output_chars} "
                "characters"
            )

    def fits(self, estimate: int, what: str) -> None:
        """Refuses an operation whose result would be larger than any output may be."""
        if estimate > self.budget.max_output_chars:
            raise BudgetExceeded(
                f"{what} would make about {estimate} characters, "
                f"over the limit of {self.budget.max_output_chars}"
            )

    def value(self, value: Any, what: str) -> Any:
        self.fits(weight(value, self.budget.max_output_chars), what)
        return value


_METER: ContextVar[Meter | None] = ContextVar("template_meter", default=None)
_UNMETERED = RenderBudget()


def current_meter() -> Meter:
    meter = _METER.get()
    if meter is None:  # only ever outside a render, e.g. a filter folded in a test
        meter = Meter(_UNMETERED, set())
        _METER.set(meter)
    return meter


@contextlib.contextmanager
def metered(budget: RenderBudget, missing: set[str]) -> Iterator[Meter]:
    meter = Meter(budget, missing)
    token = _METER.set(meter)
    try:
        yield meter
    finally:
        _METER.reset(token)


def record_missing(name: str) -> None:
    meter = _METER.get()
    if meter is not None:
        meter.missing.add(name)


def weight(value: Any, limit: int, depth: int = 0) -> int:
    """About how many characters `str(value)` has, computed without building it; stops counting
    once past `limit` (so it costs at most about `limit` steps)."""
    if isinstance(value, str):
        return len(value)
    if value is None or isinstance(value, (bool, float, Undefined, range)):
        return 8
    if isinstance(value, int):
        return value.bit_length() // 3 + 1
    if isinstance(value, (bytes, bytearray)):
        return 4 * len(value)
    if depth > MAX_NESTING:
        raise BudgetExceeded(f"values nested more than {MAX_NESTING} deep")
    if isinstance(value, Namespace):
        value = object.__getattribute__(value, "_Namespace__attrs")
    items: Iterable[Any]
    if isinstance(value, Mapping):
        items = (x for pair in value.items() for x in pair)
    elif isinstance(value, (list, tuple, set, frozenset)):
        items = value
    else:
        return 16
    total = 2
    for item in items:
        total += 2 + weight(item, limit - total, depth + 1)
        if total > limit:
            break
    return total
