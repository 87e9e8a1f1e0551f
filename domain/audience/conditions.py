"""What an attribute condition means (BR-CAM-007.2), in one place; docs/conditions.md is the
user-facing statement of the same rules.

The SQL audience source compiles the same semantics to SQL, the HTTP data service is asked to
apply them; the contract suite checks every audience source agrees.
- A field is a contact field, a key of the attributes, or a dot path (`address.city`) into nested
  objects; a key spelled with a dot is taken literally when the document has it.
- A missing or null field: `exists` is false and `not_exists` true; every other operator is
  false, the negated ones too (unknown is not "different": the safe reading for a send).
- Type rule: like types compare (text exactly, numbers numerically, booleans as such) and a number
  against a numeric text ("30", "-2.5": `NUMERIC_TEXT`) compares as numbers; any other pairing is
  a mismatch and the condition is false, `not_equals`/`not_contains`/`not_in` included.
- `contains`/`not_contains`: case-sensitive substring test on text.
- Ordering operators compare numbers (or numeric text) with a number.
- `in` holds when `equals` holds for some listed value; `not_in` when `not_equals` holds for every
  one. Evaluation never raises, whatever the profile holds.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from domain.audience.model import Condition, ConditionOperator, ConditionScalar, ConditionValue
from domain.kernel.errors import ViolationCollector

CONTACT_FIELDS = frozenset(
    {
        "user_id",
        "email",
        "phone",
        "timezone",
        "locale",
        "whatsapp_verified",
        "email_opted_in",
        "sms_opted_in",
        "whatsapp_opted_in",
        "in_app_opted_in",
    }
)

MAX_FIELD = 128  # characters in a field name
# Conditions of one query, segment or trigger (AND-ed). Each becomes a clause of the audience
# query, or a test per event; 50 covers any real segment and keeps one query plannable.
MAX_CONDITIONS = 50
MAX_CONDITION_VALUE = 1_024  # characters of a text value to compare with
# Values of one in/not_in list: each is a few SQL clauses, so 50 conditions x 100 values stays
# well inside one statement's bind-parameter limits and the statement timeout.
MAX_LIST_VALUES = 100
# Text that compares as a number against a number: ASCII digits, an optional leading minus and
# fraction, at most NUMERIC_TEXT_MAX characters (no exponent, spaces or "+"), so SQLite (GLOB),
# Postgres (regex) and Python read exactly the same strings and none overflows a double.
NUMERIC_TEXT = re.compile(r"-?[0-9]+(\.[0-9]+)?")
NUMERIC_TEXT_MAX = 64

OP = ConditionOperator
ORDERED = frozenset(
    {OP.GREATER_THAN, OP.LESS_THAN, OP.GREATER_THAN_OR_EQUAL, OP.LESS_THAN_OR_EQUAL}
)
TEXT_OPERATORS = frozenset({OP.CONTAINS, OP.NOT_CONTAINS})
LIST_OPERATORS = frozenset({OP.IN, OP.NOT_IN})
PRESENCE_OPERATORS = frozenset({OP.EXISTS, OP.NOT_EXISTS})
_MISSING = object()


def is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def numeric_text(value: str) -> float | None:
    """The number a text stands for under the type rule, else None."""
    if len(value) <= NUMERIC_TEXT_MAX and NUMERIC_TEXT.fullmatch(value):
        return float(value)
    return None


def lookup(profile: Mapping[str, Any], field: str) -> Any:
    """The value `field` names: the key itself when present, else a dot path through objects
    (a list or scalar on the way means missing); _MISSING when there is none."""
    if field in profile:
        return profile[field]
    if "." not in field:
        return _MISSING
    node: Any = profile
    for part in field.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return _MISSING
        node = node[part]
    return node


def _equal(actual: Any, expected: ConditionScalar) -> bool | None:
    """True/False when the two compare under the type rule; None for a mismatch."""
    if isinstance(actual, bool) or isinstance(expected, bool):
        both = isinstance(actual, bool) and isinstance(expected, bool)
        return actual == expected if both else None
    if isinstance(actual, str) and isinstance(expected, str):
        return actual == expected
    left, right = _as_number(actual), _as_number(expected)
    if left is None or right is None or not (is_number(actual) or is_number(expected)):
        return None
    return left == right


def _as_number(value: Any) -> float | None:
    if is_number(value):
        return float(value)
    return numeric_text(value) if isinstance(value, str) else None


def _ordered(op: ConditionOperator, actual: Any, expected: ConditionValue) -> bool:
    if not is_number(expected):
        return False
    left, right = _as_number(actual), float(expected)  # type: ignore[arg-type]
    if left is None or isinstance(actual, bool):
        return False
    if op is OP.GREATER_THAN:
        return left > right
    if op is OP.LESS_THAN:
        return left < right
    if op is OP.GREATER_THAN_OR_EQUAL:
        return left >= right
    return left <= right


def matches(condition: Condition, profile: Mapping[str, Any]) -> bool:
    actual = lookup(profile, condition.field)
    op, expected = condition.operator, condition.value
    if type(actual) is str and type(expected) is str and op is OP.EQUALS:
        # The commonest test by far (a trigger's `store == s3` against every event): text
        # against text is plain equality under the type rule, as _equal says below.
        return actual == expected
    present = actual is not _MISSING and actual is not None
    if op in PRESENCE_OPERATORS:
        return present is (op is OP.EXISTS)
    if not present:
        return False
    if op is OP.EQUALS or op is OP.NOT_EQUALS:
        if expected is None or isinstance(expected, tuple):
            return False
        return _equal(actual, expected) is (op is OP.EQUALS)
    if op in TEXT_OPERATORS:
        if not (isinstance(actual, str) and isinstance(expected, str)):
            return False
        return (expected in actual) is (op is OP.CONTAINS)
    if op in LIST_OPERATORS:
        if not isinstance(expected, tuple):
            return False
        found = [_equal(actual, e) for e in expected]
        return any(f is True for f in found) if op is OP.IN else all(f is False for f in found)
    return _ordered(op, actual, expected)


def matches_all(conditions: Iterable[Condition], profile: Mapping[str, Any]) -> bool:
    """Conditions combine with AND (BR-CAM-007.3); no conditions match everyone."""
    return all(matches(c, profile) for c in conditions)


def check_conditions(v: ViolationCollector, path: str, conditions: Sequence[Condition]) -> None:
    if len(conditions) > MAX_CONDITIONS:
        v.add(path, f"at most {MAX_CONDITIONS} conditions (got {len(conditions)})")
        return  # one violation, not one per condition of 20,000
    for i, condition in enumerate(conditions):
        where = f"{path}[{i}]"
        if not condition.field.strip():
            v.add(f"{where}.field", "is required")
        elif len(condition.field) > MAX_FIELD:
            v.add(f"{where}.field", f"must be at most {MAX_FIELD} characters")
        _check_value(v, f"{where}.value", condition.operator, condition.value)


def _check_value(
    v: ViolationCollector, where: str, op: ConditionOperator, value: ConditionValue
) -> None:
    if op in PRESENCE_OPERATORS:
        if value is not None:
            v.add(where, f"{op.value} takes no value; leave it unset")
        return
    if value is None:
        v.add(where, "is required")
        return
    if any(is_number(e) and not math.isfinite(e) for e in _values(value)):  # type: ignore[arg-type]
        v.add(where, "numbers must be finite")
        return
    if op in LIST_OPERATORS:
        if not isinstance(value, tuple):
            v.add(where, f"{op.value} takes a list of strings, numbers or booleans")
        elif not value:
            v.add(where, "give at least one value")
        elif len(value) > MAX_LIST_VALUES:
            v.add(where, f"at most {MAX_LIST_VALUES} values (got {len(value)})")
        elif any(isinstance(e, str) and len(e) > MAX_CONDITION_VALUE for e in value):
            v.add(where, f"text values are at most {MAX_CONDITION_VALUE} characters")
        return
    if isinstance(value, tuple):
        v.add(where, f"{op.value} takes one value, not a list")
    elif op in ORDERED and not is_number(value):
        v.add(where, f"{op.value} compares numbers; give a number")
    elif op in TEXT_OPERATORS and not isinstance(value, str):
        v.add(where, f"{op.value} looks for text; give a string")
    elif isinstance(value, str) and len(value) > MAX_CONDITION_VALUE:
        v.add(where, f"text values are at most {MAX_CONDITION_VALUE} characters")


def _values(value: ConditionValue) -> tuple[object, ...]:
    return value if isinstance(value, tuple) else (value,)
