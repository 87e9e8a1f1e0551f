"""Attribute conditions (BR-CAM-007.2, 007.3): every operator against every kind of value.

The SQL audience source must compile to the same answers, so the table below is the reference
(docs/conditions.md): a missing or null field satisfies only not_exists; a number against numeric
text compares as numbers ("5" is 5); any other type mismatch is false, negated operators included
(True is not 1, nor "not 1"); ordering compares numbers only; evaluation never raises.
"""

from __future__ import annotations

from typing import Any

import pytest

from domain.audience.conditions import matches, matches_all
from domain.audience.model import Condition, ConditionOperator, ConditionValue

OP = ConditionOperator
EQ, NE, CONTAINS, GT, LT = (OP.EQUALS, OP.NOT_EQUALS, OP.CONTAINS, OP.GREATER_THAN, OP.LESS_THAN)
NOT_CONTAINS, GE, LE, IN, NOT_IN, EXISTS, NOT_EXISTS = (
    OP.NOT_CONTAINS,
    OP.GREATER_THAN_OR_EQUAL,
    OP.LESS_THAN_OR_EQUAL,
    OP.IN,
    OP.NOT_IN,
    OP.EXISTS,
    OP.NOT_EXISTS,
)
MISSING = object()  # the profile has no such field

CASES: list[tuple[Any, ConditionOperator, ConditionValue, bool]] = [
    # equals: like types only
    ("gold", EQ, "gold", True),
    ("Gold", EQ, "gold", False),  # text is exact, case included
    ("5", EQ, 5, True),  # a number against numeric text: as numbers
    (5, EQ, "5", True),
    (5, EQ, "5.0", True),
    ("5", EQ, "5.0", False),  # text against text stays text
    (5, EQ, "5e0", False),  # no exponents: not numeric text, a mismatch
    (5, EQ, " 5", False),
    (5, EQ, "+5", False),
    (5, EQ, "1" * 65, False),  # longer than NUMERIC_TEXT_MAX
    (-0.5, EQ, "-0.5", True),
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
    ("5", NE, 5, False),
    ("6", NE, 5, True),
    ("x", NE, 5, False),  # a mismatch is false, negated or not
    (5, NE, 5.0, False),
    (True, NE, 1, False),
    ({"k": 1}, NE, "x", False),
    ([1], NE, 1, False),
    (False, NE, False, False),
    # contains: case-sensitive substring of text
    ("premium-gold", CONTAINS, "gold", True),
    ("premium-Gold", CONTAINS, "gold", False),
    ("gold", CONTAINS, "", True),
    (12345, CONTAINS, "234", False),
    (["gold"], CONTAINS, "gold", False),
    ("12345", CONTAINS, 234, False),
    ("premium-gold", NOT_CONTAINS, "gold", False),
    ("premium-Gold", NOT_CONTAINS, "gold", True),
    (12345, NOT_CONTAINS, "9", False),  # not text: a mismatch
    # greater_than / less_than: numbers only
    (10, GT, 5, True),
    (5, GT, 5, False),
    (4.99, GT, 5, False),
    (5.01, GT, 5, True),
    (-1, LT, 0, True),
    (0, LT, 0, False),
    (0.5, LT, 1, True),
    ("10", GT, 5, True),  # numeric text against a number
    ("ten", GT, 5, False),
    (5, GE, 5, True),
    (4.99, GE, 5, False),
    ("5", LE, 5, True),
    (5.01, LE, 5, False),
    (True, GE, 0, False),
    # in: equals one of them; not_in: not_equals every one of them
    ("gold", IN, ("silver", "gold"), True),
    (30, IN, ("30",), True),
    ("30", IN, (30.0, "x"), True),
    (True, IN, (1, "true"), False),
    ("gold", IN, ("Gold",), False),
    ("gold", NOT_IN, ("silver", "bronze"), True),
    ("gold", NOT_IN, ("silver", 3), False),  # "gold" against 3 is a mismatch
    (30, NOT_IN, ("30",), False),
    (31, NOT_IN, ("30", 29), True),
    (["gold"], IN, ("gold",), False),
    ({"k": 1}, NOT_IN, ("x",), False),
    ("gold", IN, "gold", False),  # a malformed value (rejected at create) never raises
    # exists / not_exists: present and not null
    ("", EXISTS, None, True),
    (0, EXISTS, None, True),
    (False, EXISTS, None, True),
    ([], EXISTS, None, True),
    ({}, NOT_EXISTS, None, False),
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
@pytest.mark.parametrize("expected", ["gold", 5, 5.5, True, False, "", ("gold", 5), None])
def test_a_missing_or_null_field_satisfies_only_not_exists(
    absent: object, operator: ConditionOperator, expected: ConditionValue
) -> None:
    profile = {} if absent is MISSING else {"field": None}

    found = matches(Condition("field", operator, expected), {**profile, "other": expected})

    assert found is (operator is NOT_EXISTS)


@pytest.mark.parametrize(
    ("field", "found"),
    [
        ("address.city", "Oslo"),
        ("address.geo.lat", 59.9),
        ("address.geo", {"lat": 59.9}),
        ("a.b", "literal"),  # the key spelled with a dot wins over the path
        ("tags.0", MISSING),  # no list indexing
        ("name.first", MISSING),  # a scalar has no inside
        ("address.zip", MISSING),
        ("address..city", MISSING),
        ("nothing.here", MISSING),
    ],
)
def test_dot_paths_walk_nested_objects(field: str, found: object) -> None:
    profile = {
        "address": {"city": "Oslo", "geo": {"lat": 59.9}},
        "a.b": "literal",
        "a": {"b": "nested"},
        "tags": ["x"],
        "name": "Ann",
    }
    exists = matches(Condition(field, EXISTS, None), profile)

    assert exists is (found is not MISSING)
    if found is not MISSING:
        assert matches(Condition(field, EQ, found), profile) or isinstance(found, dict)


@pytest.mark.parametrize("operator", list(ConditionOperator))
@pytest.mark.parametrize(
    "actual",
    [
        None,
        "",
        "x",
        "1" * 10_000,
        1e308,
        float("inf"),
        float("nan"),
        True,
        [],
        [[1]],
        {},
        {"a": []},
    ],
)
@pytest.mark.parametrize("expected", [None, "", "5", 5, True, (), ("5", 5, True), ("x",)])
def test_evaluation_never_raises(
    operator: ConditionOperator, actual: object, expected: ConditionValue
) -> None:
    assert matches(Condition("f.g", operator, expected), {"f": {"g": actual}}) in (True, False)


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
