"""Jinja2's filters and tests behind the render budget, and loop iterations counted against it.

Filters and tests are wrapped so they are never folded at compile time (which would run them on
the caller's thread with no budget), with size estimates for those that grow text; lazy results
and every `for` loop's iterable count their items against the loop budget (docs/rendering.md).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from functools import wraps
from typing import Any

from jinja2 import pass_context
from jinja2.runtime import Context, Undefined
from jinja2.utils import generate_lorem_ipsum

from domain.campaigns.template_budget import BudgetExceeded, Meter, current_meter, weight
from domain.campaigns.template_checks import check_format, is_int, replace_estimate

MAX_LIPSUM_PARAGRAPHS, MAX_LIPSUM_WORDS = 20, 200


def _indent_estimate(value: Any, args: Sequence[Any], kwargs: Mapping[str, Any]) -> int:
    text = str(value)
    width = args[0] if args else kwargs.get("width", 4)
    size = len(width) if isinstance(width, str) else int(width) if is_int(width) else 4
    return len(text) + (text.count("\n") + 1) * max(size, 0)


def _wordwrap_estimate(value: Any, args: Sequence[Any], kwargs: Mapping[str, Any]) -> int:
    text = str(value)
    width = args[0] if args else kwargs.get("width", 79)
    wrap = args[2] if len(args) > 2 else kwargs.get("wrapstring") or "\n"
    lines = len(text) // max(int(width) if is_int(width) else 79, 1) + 1
    return len(text) + lines * len(str(wrap))


def _center_estimate(value: Any, args: Sequence[Any], kwargs: Mapping[str, Any]) -> int:
    width = args[0] if args else kwargs.get("width", 80)
    return max(len(str(value)), int(width) if is_int(width) else 0)


def _replace_filter_estimate(value: Any, args: Sequence[Any], kwargs: Mapping[str, Any]) -> int:
    if len(args) < 2:
        return len(str(value))
    return replace_estimate(str(value), args[0], args[1])


def _join_estimate(value: Any, args: Sequence[Any], kwargs: Mapping[str, Any]) -> int:
    sep = args[0] if args else kwargs.get("d", "")
    count = len(value) if isinstance(value, (list, tuple, set, frozenset, Mapping, str)) else 0
    return len(str(sep)) * count + weight(value, 10**12)


def _width_estimate(value: Any, args: Sequence[Any], kwargs: Mapping[str, Any]) -> int:
    """batch, slice: their first argument is a count of items or groups."""
    first = args[0] if args else next(iter(kwargs.values()), 0)
    return int(first) if is_int(first) else 0


_FILTER_ESTIMATES: dict[str, Callable[[Any, Sequence[Any], Mapping[str, Any]], int]] = {
    "indent": _indent_estimate,
    "wordwrap": _wordwrap_estimate,
    "center": _center_estimate,
    "replace": _replace_filter_estimate,
    "join": _join_estimate,
    "batch": _width_estimate,
    "slice": _width_estimate,
}


def _materialize(meter: Meter, items: Iterator[Any]) -> list[Any]:
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
        meter = current_meter()
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
            return CountedIterator(result)
        return meter.value(result, f"the {name} filter")

    return checked


class CountedIterator(Iterator[Any]):
    """A lazy filter result whose items count as loop iterations."""

    __slots__ = ("_items",)

    def __init__(self, items: Iterator[Any]) -> None:
        self._items = items

    def __next__(self) -> Any:
        item = next(self._items)
        meter = current_meter()
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
        meter = current_meter()
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
