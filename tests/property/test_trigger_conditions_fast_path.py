"""failing_condition tests text-equals-text inline (the commonest trigger condition) and leaves
the rest to matches(): for any conditions and properties it must name the same first failing
condition as matches() alone would."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from domain.audience.conditions import matches
from domain.audience.model import Condition, ConditionOperator
from domain.events.trigger_decisions import failing_condition

TEXTS = st.sampled_from(["s1", "s2", "3", "3.0", "", "S1"])
FIELDS = st.sampled_from(["store", "store", "total", "user.tier", "missing"])
SCALARS = st.one_of(
    TEXTS,
    st.none(),
    st.booleans(),
    st.integers(-5, 5),
    st.floats(-5, 5, allow_nan=False),
)
VALUES = st.one_of(TEXTS, SCALARS, st.lists(SCALARS, max_size=3).map(tuple))
# Text equals text (the inline path) often, every other operator too.
OPERATORS = st.one_of(st.just(ConditionOperator.EQUALS), st.sampled_from(list(ConditionOperator)))
CONDITIONS = st.builds(Condition, FIELDS, OPERATORS, VALUES)
PROPERTIES = st.fixed_dictionaries(
    {"store": st.one_of(TEXTS, SCALARS)},
    optional={
        "total": SCALARS,
        "user": st.dictionaries(st.just("tier"), SCALARS, max_size=1),
        "user.tier": SCALARS,
    },
)


def reference(conditions: list[Condition], properties: dict[str, Any]) -> object:
    for index, condition in enumerate(conditions):
        if not matches(condition, properties):
            return index, condition
    return None


@settings(max_examples=500)
@given(st.lists(CONDITIONS, max_size=4), PROPERTIES)
def test_the_same_first_failing_condition_as_matches_alone(
    conditions: list[Condition], properties: dict[str, Any]
) -> None:
    assert failing_condition(conditions, properties) == reference(conditions, properties)
