"""What an attribute condition means (BR-CAM-007.2), in one place.

The SQL audience source compiles the same semantics to SQL; the contract suite checks both agree.
- A missing field matches nothing, not even `not_equals` (SQL's NULL semantics, and the safe
  reading for a marketing send: unknown is not "different").
- `equals`/`not_equals` compare like types: numbers numerically, text exactly, booleans as such;
  a value of another type is simply not equal (the text "5" is not the number 5).
- `contains` is a case-sensitive substring test on text.
- `greater_than`/`less_than` compare numbers; a non-numeric value does not match.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from domain.audience.model import Condition, ConditionOperator, ConditionValue
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
_ORDERED_OPERATORS = {ConditionOperator.GREATER_THAN, ConditionOperator.LESS_THAN}


def _number(value: Any) -> float | None:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    return None


def _equal(actual: Any, expected: ConditionValue) -> bool:
    if isinstance(expected, bool) or isinstance(actual, bool):
        return isinstance(actual, bool) and isinstance(expected, bool) and actual == expected
    if isinstance(expected, int | float):
        number = _number(actual)
        return number is not None and number == float(expected)
    return isinstance(actual, str) and actual == expected


def matches(condition: Condition, profile: Mapping[str, Any]) -> bool:
    if condition.field not in profile or profile[condition.field] is None:
        return False
    actual = profile[condition.field]
    op, expected = condition.operator, condition.value
    if op is ConditionOperator.EQUALS:
        return _equal(actual, expected)
    if op is ConditionOperator.NOT_EQUALS:
        return not _equal(actual, expected)
    if op is ConditionOperator.CONTAINS:
        return isinstance(actual, str) and isinstance(expected, str) and expected in actual
    left, right = _number(actual), _number(expected)
    if left is None or right is None:
        return False
    return left > right if op is ConditionOperator.GREATER_THAN else left < right


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
        is_number = isinstance(condition.value, int | float) and not isinstance(
            condition.value, bool
        )
        if condition.operator in _ORDERED_OPERATORS and not is_number:
            v.add(f"{where}.value", f"{condition.operator.value} compares numbers; give a number")
        if isinstance(condition.value, str) and len(condition.value) > MAX_CONDITION_VALUE:
            v.add(f"{where}.value", f"text values are at most {MAX_CONDITION_VALUE} characters")
        if condition.operator is ConditionOperator.CONTAINS and not isinstance(
            condition.value, str
        ):
            v.add(f"{where}.value", "contains looks for text; give a string")
