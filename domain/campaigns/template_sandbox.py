"""The Jinja2 sandbox every non-trivial template renders in, with a budget per render.

Jinja2's SandboxedEnvironment keeps templates away from Python internals but bounds neither
work nor memory: `{{ 9**(9**9) }}` or `{{ 'x' * 50000000 }}` were even folded at compile time,
on the event loop. Here every operation that can grow a value without bound is intercepted
(intercepted operators are never constant-folded) and checked *before* it runs, against a
`RenderBudget`: CPU time, characters, loop iterations. Filters and tests are wrapped so they
are never folded at compile time either, and every `for` loop's iterable is counted.

A render runs inside `metered(budget)`, which keeps the per-render state in a contextvar (so a
render on a worker thread and one on the event loop never share it). Exceeding the budget raises
`BudgetExceeded`; the caller turns it into the error its callers expect.
"""

from __future__ import annotations

import contextlib
import re
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from functools import wraps
from typing import Any

from jinja2 import nodes, pass_context
from jinja2.compiler import CodeGenerator, Frame, optimizeconst
from jinja2.runtime import Context, LoopContext, Undefined, markup_join, str_join
from jinja2.sandbox import ImmutableSandboxedEnvironment
from jinja2.utils import Namespace, generate_lorem_ipsum

from domain.campaigns.template_json import (
    JSON_STRING_FILTER,
    JSON_VALUE_FILTER,
    json_string_filter,
    json_value_filter,
)

# Contract caps, not operational settings: a number bigger than this is never marketing copy
# (about 3,000 decimal digits; Python itself refuses to print more than 4,300), and deeper
# nesting or macro recursion only serves to exhaust the stack.
MAX_INT_BITS = 10_000
MAX_NESTING = 32
MAX_CALL_DEPTH = 64
# Everything a render builds along the way (values written inside loops, macros and
# `{% set %}` blocks, the text of each loop iteration) may be this many times the output budget.
WORK_FACTOR = 4
MAX_LIPSUM_PARAGRAPHS, MAX_LIPSUM_WORDS = 20, 200


@dataclass(frozen=True, slots=True)
class RenderBudget:
    """What one render may spend: CPU milliseconds, output characters and loop iterations."""

    cpu_ms: float = 500.0
    max_output_chars: int = 1_000_000
    max_loop_iterations: int = 100_000


class BudgetExceeded(Exception):
    """A render (or a constant in a template) would exceed its budget."""


class _Meter:
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


_METER: ContextVar[_Meter | None] = ContextVar("template_meter", default=None)
_UNMETERED = RenderBudget()


def _meter() -> _Meter:
    meter = _METER.get()
    if meter is None:  # only ever outside a render, e.g. a filter folded in a test
        meter = _Meter(_UNMETERED, set())
        _METER.set(meter)
    return meter


@contextlib.contextmanager
def metered(budget: RenderBudget, missing: set[str]) -> Iterator[_Meter]:
    meter = _Meter(budget, missing)
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


# --- operators ---------------------------------------------------------------------------------

_SEQUENCES = (str, list, tuple, bytes)
_PERCENT_SPEC = re.compile(r"%(?:\([^)]*\))?[#0\- +]*(\*|\d+)?(?:\.(\*|\d+))?")
_NESTED_FIELD = re.compile(r"\{[^{}]*\{")
_DIGITS = re.compile(r"\d+")


def check_binop(meter: _Meter, operator: str, left: Any, right: Any) -> None:
    """Refuses `left <operator> right` before it runs when its result would not fit."""
    limit = meter.budget.max_output_chars
    if operator == "**":
        _check_power(left, right)
    elif operator == "*":
        if _is_int(left) and _is_int(right):
            if left.bit_length() + right.bit_length() > MAX_INT_BITS:
                raise BudgetExceeded(f"a product would exceed {MAX_INT_BITS} bits")
        elif _is_int(right) and isinstance(left, _SEQUENCES):
            meter.fits(weight(left, limit) * max(right, 0), "'*'")
        elif _is_int(left) and isinstance(right, _SEQUENCES):
            meter.fits(weight(right, limit) * max(left, 0), "'*'")
    elif operator == "+":
        if not (_is_number(left) and _is_number(right)):
            meter.fits(weight(left, limit) + weight(right, limit), "'+'")
    elif operator == "%" and isinstance(left, str):
        check_format(meter, left, right if isinstance(right, tuple) else (right,), brace=False)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float))


def _check_power(base: Any, exponent: Any) -> None:
    if not (_is_int(base) and _is_int(exponent)) or exponent <= 1 or abs(base) <= 1:
        if _is_int(exponent) and abs(exponent) > MAX_INT_BITS and not _is_int(base):
            # float ** huge int is fast in C, but keep numbers in one readable range
            raise BudgetExceeded(f"an exponent is larger than {MAX_INT_BITS}")
        return
    if base.bit_length() * exponent > MAX_INT_BITS + base.bit_length():
        raise BudgetExceeded(
            f"a power would exceed {MAX_INT_BITS} bits (about {MAX_INT_BITS * 3 // 10} digits)"
        )


def check_format(meter: _Meter, fmt: str, args: Sequence[Any], *, brace: bool) -> None:
    """Refuses `fmt % args` or `fmt.format(*args)` whose widths or repeated fields would build
    more than the output budget."""
    limit = meter.budget.max_output_chars
    values: list[Any] = []
    for arg in args:
        values.extend(arg.values() if isinstance(arg, Mapping) else (arg,))
    if brace:
        fields = fmt.count("{")
        widths = sum(_number(d, limit) for d in _DIGITS.findall(fmt))
        nested = bool(_NESTED_FIELD.search(fmt))
    else:
        specs = _PERCENT_SPEC.findall(fmt)
        fields = len(specs)
        widths = sum(_number(d, limit) for spec in specs for d in spec if d.isdigit())
        nested = any("*" in spec for spec in specs)
    if nested:
        widths += sum(abs(v) for v in values if _is_int(v) and abs(v) <= 10 * limit)
        if any(_is_int(v) and abs(v) > 10 * limit for v in values):
            raise BudgetExceeded("a format width is larger than the output budget")
    largest = max((weight(v, limit) for v in values), default=0)
    meter.fits(len(fmt) + widths + fields * largest, "string formatting")


def _number(digits: str, limit: int) -> int:
    return int(digits) if len(digits) <= len(str(limit)) + 1 else 10 * limit + 1


def checked_concat(parts: Sequence[Any], autoescape: bool) -> str:
    """`a ~ b ~ c`, refused before joining when the result would not fit."""
    meter = _meter()
    meter.tick()
    limit = meter.budget.max_output_chars
    meter.fits(sum(weight(p, limit) for p in parts), "'~'")
    return markup_join(parts) if autoescape else str_join(parts)


# --- calls (methods, macros, globals) ----------------------------------------------------------

_STR_WIDTH_METHODS = frozenset({"ljust", "rjust", "center", "zfill"})


def check_call(meter: _Meter, obj: Any, args: Sequence[Any], kwargs: Mapping[str, Any]) -> None:
    limit = meter.budget.max_output_chars
    receiver = getattr(obj, "__self__", None)
    if not isinstance(receiver, str):
        return
    name = getattr(obj, "__name__", "")
    values = [*args, *kwargs.values()]
    if name in _STR_WIDTH_METHODS:
        meter.fits(max((v for v in values if _is_int(v)), default=0), f"str.{name}")
    elif name == "expandtabs":
        size = max((v for v in values if _is_int(v)), default=8)
        meter.fits(len(receiver) + receiver.count("\t") * size, "str.expandtabs")
    elif name == "replace" and len(args) >= 2:
        meter.fits(_replace_estimate(receiver, args[0], args[1]), "str.replace")
    elif name == "join" and args and isinstance(args[0], (list, tuple, set, frozenset)):
        meter.fits(len(receiver) * len(args[0]) + weight(args[0], limit), "str.join")


def _replace_estimate(text: str, old: Any, new: Any) -> int:
    occurrences = len(text) + 1 if not old else len(text) // max(len(str(old)), 1)
    return len(text) + occurrences * len(str(new))


# --- filters and tests --------------------------------------------------------------------------


def _indent_estimate(value: Any, args: Sequence[Any], kwargs: Mapping[str, Any]) -> int:
    text = str(value)
    width = args[0] if args else kwargs.get("width", 4)
    size = len(width) if isinstance(width, str) else int(width) if _is_int(width) else 4
    return len(text) + (text.count("\n") + 1) * max(size, 0)


def _wordwrap_estimate(value: Any, args: Sequence[Any], kwargs: Mapping[str, Any]) -> int:
    text = str(value)
    width = args[0] if args else kwargs.get("width", 79)
    wrap = args[2] if len(args) > 2 else kwargs.get("wrapstring") or "\n"
    lines = len(text) // max(int(width) if _is_int(width) else 79, 1) + 1
    return len(text) + lines * len(str(wrap))


def _center_estimate(value: Any, args: Sequence[Any], kwargs: Mapping[str, Any]) -> int:
    width = args[0] if args else kwargs.get("width", 80)
    return max(len(str(value)), int(width) if _is_int(width) else 0)


def _replace_filter_estimate(value: Any, args: Sequence[Any], kwargs: Mapping[str, Any]) -> int:
    if len(args) < 2:
        return len(str(value))
    return _replace_estimate(str(value), args[0], args[1])


def _join_estimate(value: Any, args: Sequence[Any], kwargs: Mapping[str, Any]) -> int:
    sep = args[0] if args else kwargs.get("d", "")
    count = len(value) if isinstance(value, (list, tuple, set, frozenset, Mapping, str)) else 0
    return len(str(sep)) * count + weight(value, 10**12)


def _width_estimate(value: Any, args: Sequence[Any], kwargs: Mapping[str, Any]) -> int:
    """batch, slice: their first argument is a count of items or groups."""
    first = args[0] if args else next(iter(kwargs.values()), 0)
    return int(first) if _is_int(first) else 0


_FILTER_ESTIMATES: dict[str, Callable[[Any, Sequence[Any], Mapping[str, Any]], int]] = {
    "indent": _indent_estimate,
    "wordwrap": _wordwrap_estimate,
    "center": _center_estimate,
    "replace": _replace_filter_estimate,
    "join": _join_estimate,
    "batch": _width_estimate,
    "slice": _width_estimate,
}


def _materialize(meter: _Meter, items: Iterator[Any]) -> list[Any]:
    """A lazy sequence (map, select, ...) as a list, counted item by item against the budget."""
    limit = meter.budget.max_output_chars
    out: list[Any] = []
    total = 0
    for item in items:
        meter.iterate()
        total += 2 + weight(item, limit)
        meter.fits(total, "a sequence")
        out.append(item)
    return out


def budgeted_filter(name: str, func: Any, *, is_test: bool) -> Callable[..., Any]:
    """`func` behind the budget checks, taking the context so Jinja never folds it at compile
    time (which would run it on the caller's thread with no budget)."""
    estimate = _FILTER_ESTIMATES.get(name)
    original = func
    passes = getattr(func, "jinja_pass_arg", None)

    @pass_context
    @wraps(original)
    def checked(context: Context, value: Any, *args: Any, **kwargs: Any) -> Any:
        meter = _meter()
        meter.tick()
        if isinstance(value, Iterator):
            value = _materialize(meter, value)
        if not isinstance(value, Undefined):
            meter.value(value, f"the {name} filter's input")
        if name == "format":
            check_format(meter, str(value), [*args, *kwargs.values()], brace=False)
        elif estimate is not None:
            meter.fits(estimate(value, args, kwargs), f"the {name} filter")
        if passes is not None:
            lead = {
                "context": context,
                "eval_context": context.eval_ctx,
                "environment": context.environment,
            }[passes.name]
            result = original(lead, value, *args, **kwargs)
        else:
            result = original(value, *args, **kwargs)
        if is_test:
            return result
        if isinstance(result, Iterator):
            return _CountedIterator(result)
        return meter.value(result, f"the {name} filter")

    return checked


class _CountedIterator(Iterator[Any]):
    """A lazy filter result whose items count as loop iterations."""

    __slots__ = ("_items",)

    def __init__(self, items: Iterator[Any]) -> None:
        self._items = items

    def __next__(self) -> Any:
        item = next(self._items)
        meter = _meter()
        meter.iterate()
        return meter.value(item, "an item")


class CountedIterable:
    """A `for` loop's iterable: each item counts against the loop budget and charges the loop
    body's own text (`literal_chars`) to what the render builds."""

    __slots__ = ("_iterable", "_literal")

    def __init__(self, iterable: Iterable[Any], literal_chars: int) -> None:
        self._iterable = iterable
        self._literal = literal_chars

    def __len__(self) -> int:
        return len(self._iterable)  # type: ignore[arg-type]  # TypeError: LoopContext copes

    def __iter__(self) -> Iterator[Any]:
        meter = _meter()
        literal = self._literal
        for item in self._iterable:
            meter.iterate(literal)
            yield item


@pass_context
def loop_budget(context: Context, iterable: Any, literal_chars: int = 0) -> Any:
    if isinstance(iterable, Undefined):
        return iterable
    if isinstance(iterable, Mapping):
        iterable = iterable.keys()
    return CountedIterable(iterable, literal_chars)


LOOP_BUDGET_FILTER = "loop_budget"


def lipsum(n: int = 5, html: bool = True, min: int = 20, max: int = 100) -> str:
    """Jinja2's `lipsum`, bounded (it is placeholder text, not a way to fill memory)."""
    if n > MAX_LIPSUM_PARAGRAPHS or max > MAX_LIPSUM_WORDS or min > max:
        raise BudgetExceeded(
            f"lipsum makes at most {MAX_LIPSUM_PARAGRAPHS} paragraphs of at most "
            f"{MAX_LIPSUM_WORDS} words"
        )
    return generate_lorem_ipsum(n, html, min, max)


# --- the environment ---------------------------------------------------------------------------


class _CodeGenerator(CodeGenerator):
    @optimizeconst
    def visit_Concat(self, node: nodes.Concat, frame: Frame) -> None:
        self.write("environment.checked_concat((")
        for arg in node.nodes:
            self.visit(arg, frame)
            self.write(", ")
        self.write("), context.eval_ctx.autoescape)")


@pass_context
def _finalize(context: Context, value: Any) -> Any:
    """Every `{{ }}` value, before it is written: refused if too large, charged to the budget;
    None writes nothing (as on the fast path)."""
    if value is None:
        return ""
    meter = _meter()
    meter.tick()
    size = weight(value, meter.budget.max_output_chars)
    meter.fits(size, "a written value")
    meter.write(size)
    return value


class BudgetedSandbox(ImmutableSandboxedEnvironment):
    """Jinja2's immutable sandbox (no list.append/dict.update growing values in place), with
    `**`, `*`, `+`, `%`, `~`, calls, filters, tests and loops checked against the budget."""

    intercepted_binops = frozenset({"**", "*", "+", "%"})
    code_generator_class = _CodeGenerator

    def __init__(self, **options: Any) -> None:
        super().__init__(finalize=_finalize, **options)
        self.globals["lipsum"] = lipsum
        for name, func in list(self.filters.items()):
            self.filters[name] = budgeted_filter(name, func, is_test=False)
        for name, func in list(self.tests.items()):
            self.tests[name] = budgeted_filter(name, func, is_test=True)
        self.filters[LOOP_BUDGET_FILTER] = loop_budget
        self.filters[JSON_VALUE_FILTER] = json_value_filter
        self.filters[JSON_STRING_FILTER] = json_string_filter
        self.checked_concat = checked_concat

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        meter = _meter()
        meter.tick()
        check_binop(meter, operator, left, right)
        return meter.value(self.binop_table[operator](left, right), f"'{operator}'")

    def call(
        __self,
        __context: Context,
        __obj: Any,
        *args: Any,
        **kwargs: Any,
    ) -> Any:
        meter = _meter()
        meter.tick()
        if isinstance(__obj, LoopContext) and args:  # a recursive loop: `loop(children)`
            args = (CountedIterable(args[0], 0), *args[1:])
        check_call(meter, __obj, args, kwargs)
        meter.depth += 1
        if meter.depth > MAX_CALL_DEPTH:
            meter.depth -= 1
            raise BudgetExceeded(f"calls nested more than {MAX_CALL_DEPTH} deep")
        try:
            result = super().call(__context, __obj, *args, **kwargs)
        finally:
            meter.depth -= 1
        if isinstance(result, Iterator):
            return _CountedIterator(result)
        return meter.value(result, "a call")

    def wrap_str_format(self, value: Any) -> Callable[..., str] | None:
        wrapped = super().wrap_str_format(value)
        if wrapped is None:
            return None
        fmt: str = value.__self__
        inner = wrapped

        def checked(*args: Any, **kwargs: Any) -> str:
            meter = _meter()
            check_format(meter, fmt, [*args, *kwargs.values()], brace=True)
            result: str = meter.value(inner(*args, **kwargs), "str.format")
            return result

        return checked

    def __repr__(self) -> str:
        return f"BudgetedSandbox(autoescape={self.autoescape!r})"


# --- compile-time passes -----------------------------------------------------------------------


def count_loops(template: nodes.Template) -> None:
    """Wraps every `for` loop's iterable in the loop-budget filter, which also charges the text
    the loop body writes on each iteration."""
    for loop in template.find_all(nodes.For):
        literal = sum(len(data.data) for data in _own_text(loop.body))
        loop.iter = nodes.Filter(
            loop.iter,
            LOOP_BUDGET_FILTER,
            [nodes.Const(literal)],
            [],
            None,
            None,
            lineno=loop.lineno,
        )


def _own_text(body: Sequence[nodes.Node]) -> Iterator[nodes.TemplateData]:
    for node in body:
        if isinstance(node, nodes.TemplateData):
            yield node
        elif not isinstance(node, (nodes.For, nodes.Macro)):
            yield from _own_text(list(node.iter_child_nodes()))


def check_constants(template: nodes.Template, budget: RenderBudget) -> None:
    """Raises BudgetExceeded for an operation on constants that no render could afford
    (`{{ 9**(9**9) }}`, `{{ 'x' * 50000000 }}`), wherever it stands in the template."""
    with metered(budget, set()) as meter, contextlib.suppress(_NotConstant):
        _fold(template, meter)


class _NotConstant(Exception):
    pass


def _fold(node: nodes.Node, meter: _Meter) -> Any:
    """The node's constant value, or _NotConstant; checks every intercepted operation of
    constants on the way (each node is visited once)."""
    children = list(node.iter_child_nodes())
    values: list[Any] = []
    constant = True
    for child in children:
        try:
            values.append(_fold(child, meter))
        except _NotConstant:
            constant = False
    if isinstance(node, nodes.Const):
        return node.value
    if not constant:
        raise _NotConstant
    if isinstance(node, (nodes.List, nodes.Tuple)):
        return values if isinstance(node, nodes.List) else tuple(values)
    try:
        if isinstance(node, nodes.BinExpr):
            left, right = values
            if node.operator in BudgetedSandbox.intercepted_binops:
                check_binop(meter, node.operator, left, right)
            return BudgetedSandbox.default_binop_table[node.operator](left, right)
        if isinstance(node, nodes.UnaryExpr):
            return BudgetedSandbox.default_unop_table[node.operator](values[0])
    except BudgetExceeded:
        raise
    except Exception as exc:
        raise _NotConstant from exc
    raise _NotConstant
