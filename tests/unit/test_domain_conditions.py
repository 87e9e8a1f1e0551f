"""Attribute conditions (BR-CAM-007.2, 007.3): every operator against every kind of value.

The SQL audience source must compile to the same answers, so the table below is the reference:
a missing or null field matches nothing (not even not_equals), values of another type are simply
unequal ("5" is not 5, True is not 1), and ordering compares numbers only.
"""

from __future__ import annotations

from typing import Any

import pytest

from domain.audience.conditions import matches, matches_all
from domain.audience.model import Condition, ConditionOperator, ConditionValue

EQ, NE, CONTAINS, GT, LT = (
    ConditionOperator.EQUALS,
    ConditionOperator.NOT_EQUALS,
    ConditionOperator.CONTAINS,
    ConditionOperator.GREATER_THAN,
    ConditionOperator.LESS_THAN,
)
MISSING = object()  # the profile has no such field

CASES: list[tuple[Any, ConditionOperator, ConditionValue, bool]] = [
    # equals: like types only
    ("gold", EQ, "gold", True),
    ("Gold", EQ, "gold", False),  # text is exact, case included
    ("5", EQ, 5, False),
    (5, EQ, "5", False),
    (5, EQ, 5, True),
    (5, EQ, 5.0, True),  # numbers compare numerically
    (5.5, EQ, 5, False),
    (True, EQ, True, True),
    (False, EQ, True, False),
    (True, EQ, 1, False),  # a boolean is not a number
    (1, EQ, True, False),
    (0, EQ, False, False),
    ("true", EQ, True, False),
    (["gold"], EQ, "gold", False),
    # not_equals: the negation of equals, for present values
    ("gold", NE, "gold", False),
    ("silver", NE, "gold", True),
    ("5", NE, 5, True),
    (5, NE, 5.0, False),
    (True, NE, 1, True),
    (False, NE, False, False),
    # contains: case-sensitive substring of text
    ("premium-gold", CONTAINS, "gold", True),
    ("premium-Gold", CONTAINS, "gold", False),
    ("gold", CONTAINS, "", True),
    (12345, CONTAINS, "234", False),
    (["gold"], CONTAINS, "gold", False),
    ("12345", CONTAINS, 234, False),
    # greater_than / less_than: numbers only
    (10, GT, 5, True),
    (5, GT, 5, False),
    (4.99, GT, 5, False),
    (5.01, GT, 5, True),
    (-1, LT, 0, True),
    (0, LT, 0, False),
    (0.5, LT, 1, True),
    ("10", GT, 5, False),  # numeric-looking text is still text
    (True, GT, 0, False),
    (10, GT, "5", False),
    (10, GT, True, False),
    ("b", LT, "c", False),
]


@pytest.mark.parametrize(("actual", "operator", "expected", "result"), CASES)
def test_operator_semantics(
    actual: Any, operator: ConditionOperator, expected: ConditionValue, result: bool
) -> None:
    assert matches(Condition("field", operator, expected), {"field": actual}) is result


@pytest.mark.parametrize("absent", [MISSING, None])
@pytest.mark.parametrize("operator", list(ConditionOperator))
@pytest.mark.parametrize("expected", ["gold", 5, 5.5, True, False, ""])
def test_a_missing_or_null_field_matches_nothing(
    absent: object, operator: ConditionOperator, expected: ConditionValue
) -> None:
    profile = {} if absent is MISSING else {"field": None}

    assert matches(Condition("field", operator, expected), {**profile, "other": expected}) is False


def test_conditions_combine_with_and() -> None:
    profile = {"tier": "gold", "age": 30, "vip": True}
    tier, adult, vip = (
        Condition("tier", EQ, "gold"),
        Condition("age", GT, 17),
        Condition("vip", EQ, True),
    )

    assert matches_all([tier, adult, vip], profile)
    assert not matches_all([tier, adult, Condition("vip", EQ, False)], profile)
    assert matches_all([], profile)  # no conditions: everyone
    assert matches_all([], {})
