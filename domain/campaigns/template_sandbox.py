"""The Jinja2 sandbox every non-trivial template renders in, with a budget per render.

Jinja2's SandboxedEnvironment keeps templates away from Python internals but bounds neither
work nor memory: `{{ 9**(9**9) }}` or `{{ 'x' * 50000000 }}` were even folded at compile time,
on the event loop. Here every operation that can grow a value without bound is intercepted
(intercepted operators are never constant-folded) and checked *before* it runs
(template_checks), filters and tests are wrapped so they are never folded at compile time
either (template_filters), and every `for` loop's iterable is counted (`count_loops`), all
against the render's `RenderBudget` (template_budget). `check_constants` refuses, at compile
time, an operation on constants that no render could afford. Limits: docs/rendering.md.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from jinja2 import nodes, pass_context
from jinja2.compiler import CodeGenerator, Frame, optimizeconst
from jinja2.runtime import Context, LoopContext
from jinja2.sandbox import ImmutableSandboxedEnvironment

from domain.campaigns.template_budget import (
    MAX_CALL_DEPTH,
    BudgetExceeded,
    Meter,
    RenderBudget,
    current_meter,
    metered,
    weight,
)
from domain.campaigns.template_checks import check_binop, check_call, check_format, checked_concat
from domain.campaigns.template_filters import (
    LOOP_BUDGET_FILTER,
    CountedIterable,
    CountedIterator,
    budgeted_filter,
    lipsum,
    loop_budget,
)
from domain.campaigns.template_json import (
    JSON_STRING_FILTER,
    JSON_VALUE_FILTER,
    json_string_filter,
    json_value_filter,
)

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
    meter = current_meter()
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
        meter = current_meter()
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
        meter = current_meter()
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
            return CountedIterator(result)
        return meter.value(result, "a call")

    def wrap_str_format(self, value: Any) -> Callable[..., str] | None:
        wrapped = super().wrap_str_format(value)
        if wrapped is None:
            return None
        fmt: str = value.__self__
        inner = wrapped

        def checked(*args: Any, **kwargs: Any) -> str:
            meter = current_meter()
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


def _fold(node: nodes.Node, meter: Meter) -> Any:
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
