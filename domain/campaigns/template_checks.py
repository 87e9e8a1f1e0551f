"""Refuses an operation, a format or a call before it runs when its result would not fit.

The sandbox intercepts `**`, `*`, `+` and `%` (so Jinja2 never constant-folds them), compiles
`~` to `checked_concat`, and passes every call and `str.format` through these checks, each
measured against the render's budget (template_budget; limits: docs/rendering.md).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from jinja2.runtime import markup_join, str_join

from domain.campaigns.template_budget import (
    MAX_INT_BITS,
    BudgetExceeded,
    Meter,
    current_meter,
    weight,
)

# --- operators ---------------------------------------------------------------------------------

_SEQUENCES = (str, list, tuple, bytes)
_PERCENT_SPEC = re.compile(r"%(?:\([^)]*\))?[#0\- +]*(\*|\d+)?(?:\.(\*|\d+))?")
_NESTED_FIELD = re.compile(r"\{[^{}]*\{")
_DIGITS = re.compile(r"\d+")


def check_binop(meter: Meter, operator: str, left: Any, right: Any) -> None:
    """Refuses `left <operator> right` before it runs when its result would not fit."""
    limit = meter.budget.max_output_chars
    if operator == "**":
        _check_power(left, right)
    elif operator == "*":
        if is_int(left) and is_int(right):
            if left.bit_length() + right.bit_length() > MAX_INT_BITS:
                raise BudgetExceeded(f"a product would exceed {MAX_INT_BITS} bits")
        elif is_int(right) and isinstance(left, _SEQUENCES):
            meter.fits(weight(left, limit) * max(right, 0), "'*'")
        elif is_int(left) and isinstance(right, _SEQUENCES):
            meter.fits(weight(right, limit) * max(left, 0), "'*'")
    elif operator == "+":
        if not (_is_number(left) and _is_number(right)):
            meter.fits(weight(left, limit) + weight(right, limit), "'+'")
    elif operator == "%" and isinstance(left, str):
        check_format(meter, left, right if isinstance(right, tuple) else (right,), brace=False)


def is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float))


def _check_power(base: Any, exponent: Any) -> None:
    if not (is_int(base) and is_int(exponent)) or exponent <= 1 or abs(base) <= 1:
        if is_int(exponent) and abs(exponent) > MAX_INT_BITS and not is_int(base):
            # float ** huge int is fast in C, but keep numbers in one readable range
            raise BudgetExceeded(f"an exponent is larger than {MAX_INT_BITS}")
        return
    if base.bit_length() * exponent > MAX_INT_BITS + base.bit_length():
        raise BudgetExceeded(
            f"a power would exceed {MAX_INT_BITS} bits (about {MAX_INT_BITS * 3 // 10} digits)"
        )


def check_format(meter: Meter, fmt: str, args: Sequence[Any], *, brace: bool) -> None:
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
        widths += sum(abs(v) for v in values if is_int(v) and abs(v) <= 10 * limit)
        if any(is_int(v) and abs(v) > 10 * limit for v in values):
            raise BudgetExceeded("a format width is larger than the output budget")
    largest = max((weight(v, limit) for v in values), default=0)
    meter.fits(len(fmt) + widths + fields * largest, "string formatting")


def _number(digits: str, limit: int) -> int:
    return int(digits) if len(digits) <= len(str(limit)) + 1 else 10 * limit + 1


def checked_concat(parts: Sequence[Any], autoescape: bool) -> str:
    """`a ~ b ~ c`, refused before joining when the result would not fit."""
    meter = current_meter()
    meter.tick()
    limit = meter.budget.max_output_chars
    meter.fits(sum(weight(p, limit) for p in parts), "'~'")
    return markup_join(parts) if autoescape else str_join(parts)


# --- calls (methods, macros, globals) ----------------------------------------------------------

_STR_WIDTH_METHODS = frozenset({"ljust", "rjust", "center", "zfill"})


def check_call(meter: Meter, obj: Any, args: Sequence[Any], kwargs: Mapping[str, Any]) -> None:
    limit = meter.budget.max_output_chars
    receiver = getattr(obj, "__self__", None)
    if not isinstance(receiver, str):
        return
    name = getattr(obj, "__name__", "")
    values = [*args, *kwargs.values()]
    if name in _STR_WIDTH_METHODS:
        meter.fits(max((v for v in values if is_int(v)), default=0), f"str.{name}")
    elif name == "expandtabs":
        size = max((v for v in values if is_int(v)), default=8)
        meter.fits(len(receiver) + receiver.count("\t") * size, "str.expandtabs")
    elif name == "replace" and len(args) >= 2:
        meter.fits(replace_estimate(receiver, args[0], args[1]), "str.replace")
    elif name == "join" and args and isinstance(args[0], (list, tuple, set, frozenset)):
        meter.fits(len(receiver) * len(args[0]) + weight(args[0], limit), "str.join")


def replace_estimate(text: str, old: Any, new: Any) -> int:
    """About how many characters `text.replace(old, new)` has (the method and the filter)."""
    occurrences = len(text) + 1 if not old else len(text) // max(len(str(old)), 1)
    return len(text) + occurrences * len(str(new))
