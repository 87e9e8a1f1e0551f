"""Every condition operator, on attributes and on contact fields, as domain/conditions.py says.

Each case names the members by hand; the same cases are checked against domain.audience.conditions
too,
so an expectation here can never drift from the domain's meaning.
"""

from __future__ import annotations

import pytest

from domain.audience.conditions import matches_all
from domain.audience.model import Condition
from tests.contract.audience_conftest import (
    AudienceBackend,
    cond,
    contact,
    include,
    member_ids,
    profile,
)
from tests.contract.builders import ORG

CONTACTS = [
    contact(
        "a",
        email="ann@example.com",
        phone="+14155550100",
        whatsapp_verified=True,
        email_opted_in=True,
        locale="en-US",
        attributes={
            "age": 30,
            "score": 5,
            "tier": "gold",
            "vip": True,
            "note": "50% off_now",
            "extra": {"k": 1},
            "none": None,
            "big": 9_007_199_254_740_993,  # 2**53 + 1: equal to 2**53 as a double
        },
    ),
    contact(
        "b",
        email="bob@Example.org",
        timezone="Europe/Berlin",
        attributes={"age": 30.0, "score": 5.5, "tier": "Gold", "vip": False, "note": "50 percent"},
    ),
    contact(
        "c",
        phone="+4915112345678",
        sms_opted_in=True,
        attributes={"age": "30", "score": "5", "tier": "silver", "vip": "true", "note": "100%_"},
    ),
    contact("d", attributes={"vip": 1, "age": True, "tier": "", "email": "shadow@example.com"}),
    contact("e"),
    contact(
        "f",
        attributes={
            "café": "ja",
            'quo"te': 1,
            "dot.ted": True,
            "sp ace": "x y",
            "back\\slash": 2.5,
            "[0]": "bracket",
            "": "empty key",
        },
    ),
]

ATTRIBUTE_CASES: list[tuple[Condition, str]] = [
    (cond("age", "equals", 30), "ab"),  # 30 == 30.0; "30" is text, true is not 1
    (cond("age", "equals", 30.0), "ab"),
    (cond("age", "equals", "30"), "c"),
    (cond("age", "not_equals", 30), "cd"),  # present and different; e and f lack it
    (cond("age", "greater_than", 29.5), "ab"),
    (cond("age", "less_than", 31), "ab"),
    (cond("age", "greater_than", "29"), ""),  # a text bound compares nothing
    (cond("score", "greater_than", 5), "b"),
    (cond("score", "less_than", 5.5), "a"),
    (cond("score", "equals", 5), "a"),
    (cond("big", "equals", 9_007_199_254_740_992), "a"),
    (cond("tier", "equals", "gold"), "a"),  # case-sensitive
    (cond("tier", "not_equals", "gold"), "bcd"),  # "" is a value
    (cond("tier", "equals", ""), "d"),
    (cond("tier", "contains", "old"), "ab"),
    (cond("tier", "contains", "Gol"), "b"),
    (cond("tier", "contains", ""), "abcd"),
    (cond("tier", "contains", 5), ""),
    (cond("vip", "equals", True), "a"),
    (cond("vip", "equals", False), "b"),
    (cond("vip", "not_equals", True), "bcd"),
    (cond("vip", "equals", 1), "d"),
    (cond("vip", "equals", "true"), "c"),
    (cond("note", "contains", "%"), "ac"),
    (cond("note", "contains", "_"), "ac"),
    (cond("note", "contains", "50%"), "a"),  # a LIKE '%50%%' would match "50 percent" too
    (cond("note", "contains", "%_"), "c"),
    (cond("note", "contains", "0%"), "ac"),
    (cond("none", "equals", "x"), ""),  # JSON null is missing
    (cond("none", "not_equals", "x"), ""),
    (cond("extra", "not_equals", "x"), "a"),  # an object is present, and not "x"
    (cond("extra", "equals", "x"), ""),
    (cond("extra", "contains", "k"), ""),
    (cond("unknown", "not_equals", "x"), ""),
    (cond("unknown", "less_than", 1), ""),
    (cond("café", "equals", "ja"), "f"),
    (cond('quo"te', "equals", 1), "f"),
    (cond("dot.ted", "equals", True), "f"),
    (cond("sp ace", "contains", "x y"), "f"),
    (cond("back\\slash", "greater_than", 2), "f"),
    (cond("[0]", "equals", "bracket"), "f"),
    (cond("", "equals", "empty key"), "f"),
]

FIELD_CASES: list[tuple[Condition, str]] = [
    (cond("email", "equals", "ann@example.com"), "a"),
    (cond("email", "equals", ""), "cdef"),  # no address is the value "", not missing
    (cond("email", "not_equals", ""), "ab"),
    (cond("email", "contains", "example"), "a"),  # b is bob@Example.org
    (cond("email", "contains", "Example"), "b"),
    (cond("email", "equals", "shadow@example.com"), ""),  # the field, never the attribute
    (cond("email", "equals", 5), ""),
    (cond("email", "not_equals", 5), "abcdef"),
    (cond("email", "greater_than", 1), ""),
    (cond("phone", "contains", "+49"), "c"),
    (cond("timezone", "equals", "UTC"), "acdef"),
    (cond("timezone", "contains", "Berlin"), "b"),
    (cond("locale", "equals", ""), "bcdef"),
    (cond("user_id", "equals", "c"), "c"),
    (cond("user_id", "greater_than", 1), ""),
    (cond("whatsapp_verified", "equals", True), "a"),
    (cond("whatsapp_verified", "equals", False), "bcdef"),
    (cond("whatsapp_verified", "not_equals", True), "bcdef"),
    (cond("whatsapp_verified", "equals", "true"), ""),
    (cond("whatsapp_verified", "equals", 1), ""),
    (cond("whatsapp_verified", "not_equals", 1), "abcdef"),
    (cond("whatsapp_verified", "contains", "t"), ""),
    (cond("email_opted_in", "greater_than", 0), ""),
    (cond("email_opted_in", "equals", True), "a"),
    (cond("sms_opted_in", "not_equals", False), "c"),
    (cond("in_app_opted_in", "equals", False), "abcdef"),
]


def _label(condition: Condition) -> str:
    return f"{condition.field} {condition.operator} {condition.value!r}"


@pytest.mark.parametrize(("condition", "expected"), ATTRIBUTE_CASES + FIELD_CASES)
def test_the_expectations_agree_with_the_domain(condition: Condition, expected: str) -> None:
    assert "".join(c.user_id for c in CONTACTS if matches_all([condition], profile(c))) == expected


async def _members_by_case(
    audience: AudienceBackend, cases: list[tuple[Condition, str]]
) -> dict[str, str]:
    return {
        _label(condition): "".join(await member_ids(audience.source, [include(condition)]))
        for condition, _ in cases
    }


async def test_attribute_conditions_select_exactly_the_matching_contacts(
    audience: AudienceBackend,
) -> None:
    await audience.contacts.upsert(ORG, CONTACTS)

    found = await _members_by_case(audience, ATTRIBUTE_CASES)

    assert found == {_label(c): expected for c, expected in ATTRIBUTE_CASES}


async def test_contact_field_conditions_select_exactly_the_matching_contacts(
    audience: AudienceBackend,
) -> None:
    await audience.contacts.upsert(ORG, CONTACTS)

    found = await _members_by_case(audience, FIELD_CASES)

    assert found == {_label(c): expected for c, expected in FIELD_CASES}


async def test_conditions_of_one_audience_combine_with_and(audience: AudienceBackend) -> None:
    await audience.contacts.upsert(ORG, CONTACTS)

    both = include(cond("age", "equals", 30), cond("tier", "contains", "G"))
    none = include(cond("age", "equals", 30), cond("tier", "equals", "silver"))

    assert await member_ids(audience.source, [both]) == ["b"]
    assert await member_ids(audience.source, [none]) == []
