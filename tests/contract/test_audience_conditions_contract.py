"""Every condition operator, on attributes and on contact fields, as domain/conditions.py says.

Each case names the members by hand; the same cases are checked against domain.audience.conditions
too,
so an expectation here can never drift from the domain's meaning.
"""

from __future__ import annotations

from typing import Any

import pytest

from adapters.http import HttpAudienceSource, UpstreamClient
from adapters.memory.audience import MemorySuppressionStore
from domain.audience.conditions import CONTACT_FIELDS, matches_all
from domain.audience.contacts import Contact
from domain.audience.model import Condition
from tests.contract.audience_conftest import (
    AudienceBackend,
    cond,
    contact,
    include,
    member_ids,
    profile,
)
from tests.contract.builders import ORG, FixedClock
from tests.support.fake_upstreams import FakeUpstreams

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
    (cond("age", "equals", 30), "abc"),  # 30 == 30.0 == "30" (numeric text); true is not 1
    (cond("age", "equals", 30.0), "abc"),
    (cond("age", "equals", "30"), "abc"),
    (cond("age", "not_equals", 30), ""),  # equal, or a type mismatch (true), or missing
    (cond("age", "not_equals", 31), "abc"),
    (cond("age", "greater_than", 29.5), "abc"),
    (cond("age", "less_than", 31), "abc"),
    (cond("age", "greater_than", "29"), ""),  # a text bound compares nothing
    (cond("score", "greater_than", 5), "b"),
    (cond("score", "less_than", 5.5), "ac"),
    (cond("score", "equals", 5), "ac"),
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
    (cond("vip", "not_equals", True), "b"),  # "true" and 1 are not booleans: false
    (cond("vip", "equals", 1), "d"),
    (cond("vip", "equals", "true"), "c"),
    (cond("note", "contains", "%"), "ac"),
    (cond("note", "contains", "_"), "ac"),
    (cond("note", "contains", "50%"), "a"),  # a LIKE '%50%%' would match "50 percent" too
    (cond("note", "contains", "%_"), "c"),
    (cond("note", "contains", "0%"), "ac"),
    (cond("none", "equals", "x"), ""),  # JSON null is missing
    (cond("none", "not_equals", "x"), ""),
    (cond("extra", "not_equals", "x"), ""),  # an object against text: a mismatch
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
    (cond("email", "not_equals", 5), ""),  # text that is not numeric against a number
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
    (cond("whatsapp_verified", "not_equals", 1), ""),
    (cond("whatsapp_verified", "contains", "t"), ""),
    (cond("email_opted_in", "greater_than", 0), ""),
    (cond("email_opted_in", "equals", True), "a"),
    (cond("sms_opted_in", "not_equals", False), "c"),
    (cond("in_app_opted_in", "equals", False), "abcdef"),
    (cond("email", "exists", None), "abcdef"),  # a contact field is never missing
    (cond("email", "not_exists", None), ""),
    (cond("email", "not_contains", "example"), "bcdef"),
    (cond("user_id", "in", ("a", "c", "z")), "ac"),
    (cond("user_id", "not_in", ("a", "c")), "bdef"),
    (cond("whatsapp_verified", "in", (True, "x")), "a"),
    (cond("whatsapp_verified", "not_in", (True,)), "bcdef"),
    (cond("phone", "equals", 14155550100), ""),  # "+..." is not numeric text
    (cond("email", "greater_than_or_equal", 0), ""),
    (cond("email.domain", "exists", None), ""),  # a contact field has no inside (d's attribute)
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
    none = include(cond("age", "equals", 30), cond("tier", "equals", "bronze"))

    assert await member_ids(audience.source, [both]) == ["b"]
    assert await member_ids(audience.source, [none]) == []


# --- every operator against every value type, dot paths, missing fields (docs/conditions.md) ---
# One contact per kind of value under "v" (its id names the kind); "address" holds nested objects
# reached by dot paths, or something a path cannot walk through.
TYPED = [
    contact(
        "b",
        attributes={"v": True, "address.city": "Literal", "address": {"city": "Nested"}},
    ),
    contact("l", attributes={"v": ["gold", 30], "address": [{"city": "Oslo"}]}),
    contact("m", attributes={}),
    contact(
        "n",
        attributes={"v": 30, "address": {"city": "Oslo", "zip": 150, "geo": {"lat": 59.9}}},
    ),
    contact("o", attributes={"v": {"city": "Oslo", "zip": "0150", "n": 5}, "address": "Main 1"}),
    contact(
        "s",
        attributes={"v": "gold", "address": {"city": "Bergen", "zip": "5003"}, "email": {"d": 1}},
    ),
    contact("t", attributes={"v": "30", "address": {"city": None}}),
    contact("z", attributes={"v": None}),
]

OPERATOR_CASES: list[tuple[Condition, str]] = [
    # equals / not_equals: a number against numeric text compares as numbers; else like types
    (cond("v", "equals", "gold"), "s"),
    (cond("v", "equals", 30), "nt"),
    (cond("v", "equals", "30"), "nt"),
    (cond("v", "equals", "0030"), "n"),  # numbers against 30; text against text "30"
    (cond("v", "equals", "3e1"), ""),  # no exponent: not numeric text
    (cond("v", "equals", "30 "), ""),
    (cond("v", "equals", True), "b"),
    (cond("v", "not_equals", "gold"), "t"),  # 30 against "gold" is a mismatch: false
    (cond("v", "not_equals", 30), ""),
    (cond("v", "not_equals", 31), "nt"),
    (cond("v", "not_equals", False), "b"),
    # contains / not_contains: text only
    (cond("v", "contains", "ol"), "s"),
    (cond("v", "contains", "3"), "t"),
    (cond("v", "not_contains", "ol"), "t"),
    (cond("v", "not_contains", "x"), "st"),
    # ordering: numbers and numeric text against a number
    (cond("v", "greater_than", 29), "nt"),
    (cond("v", "less_than", 31), "nt"),
    (cond("v", "greater_than_or_equal", 30), "nt"),
    (cond("v", "greater_than_or_equal", 30.5), ""),
    (cond("v", "less_than_or_equal", 30), "nt"),
    (cond("v", "less_than_or_equal", 29.99), ""),
    (cond("v", "greater_than", "29"), ""),  # rejected at create; evaluates to false
    # in: equals some value; not_in: not_equals every value
    (cond("v", "in", ("gold", 30)), "nst"),
    (cond("v", "in", ("30",)), "nt"),
    (cond("v", "in", (True, "silver")), "b"),
    (cond("v", "in", ("x",)), ""),
    (cond("v", "not_in", ("silver",)), "st"),
    (cond("v", "not_in", (31, 32)), "nt"),
    (cond("v", "not_in", ("gold",)), "t"),
    (cond("v", "not_in", ("silver", 31)), "t"),  # "gold" vs 31 and 30 vs "silver": mismatches
    (cond("v", "not_in", (False,)), "b"),
    # exists / not_exists: null is missing; lists and objects exist
    (cond("v", "exists", None), "blnost"),
    (cond("v", "not_exists", None), "mz"),
    # dot paths: through objects only; a key spelled with the dot wins
    (cond("address.city", "equals", "Oslo"), "n"),
    (cond("address.city", "equals", "Literal"), "b"),
    (cond("address.city", "equals", "Nested"), ""),
    (cond("address.city", "exists", None), "bns"),
    (cond("address.city", "not_exists", None), "lmotz"),
    (cond("address.city", "not_equals", "Oslo"), "bs"),
    (cond("address.zip", "equals", 150), "n"),
    (cond("address.zip", "equals", 5003), "s"),
    (cond("address.zip", "in", (150, 5003)), "ns"),
    (cond("address.zip", "greater_than", 1000), "s"),
    (cond("address.geo.lat", "greater_than", 59), "n"),
    (cond("address.geo.lat", "not_exists", None), "blmostz"),
    (cond("address.geo", "not_equals", "x"), ""),  # an object against text
    (cond("address", "not_in", ("x",)), "o"),
    (cond("v.city", "equals", "Oslo"), "o"),
    (cond("v.zip", "equals", 150), "o"),  # "0150" is numeric text
    (cond("v.n", "less_than_or_equal", 5), "o"),
    (cond("v.0", "equals", "gold"), ""),  # no list indexing
    # missing fields: only not_exists holds
    (cond("gone.deep", "exists", None), ""),
    (cond("gone.deep", "not_exists", None), "blmnostz"),
    (cond("gone.deep", "not_equals", "x"), ""),
    (cond("gone", "not_in", ("x",)), ""),
    (cond("gone", "not_contains", "x"), ""),
    (cond("gone", "less_than_or_equal", 1), ""),
    (cond("email.d", "equals", 1), ""),  # "email" is the contact field, not s's attribute
]


@pytest.mark.parametrize(("condition", "expected"), OPERATOR_CASES)
def test_the_operator_table_agrees_with_the_domain(condition: Condition, expected: str) -> None:
    assert "".join(c.user_id for c in TYPED if matches_all([condition], profile(c))) == expected


async def test_every_operator_selects_the_same_members_on_every_source(
    audience: AudienceBackend,
) -> None:
    await audience.contacts.upsert(ORG, TYPED)

    found = await _members_by_case(audience, OPERATOR_CASES)

    assert found == {_label(c): expected for c, expected in OPERATOR_CASES}


def _wire_profile(c: Contact) -> dict[str, Any]:
    return {
        **{f: getattr(c, f) for f in CONTACT_FIELDS},
        "attributes": c.attributes,
    }


@pytest.mark.parametrize(
    ("contacts", "cases"),
    [(CONTACTS, ATTRIBUTE_CASES + FIELD_CASES), (TYPED, OPERATOR_CASES)],
    ids=["values", "operators"],
)
async def test_the_data_service_is_asked_the_same_conditions(
    contacts: list[Contact], cases: list[tuple[Condition, str]]
) -> None:
    """Through HttpAudienceSource and the wire format of docs/upstream-http.md (lists for in,
    no value for exists), against the fake data service that evaluates with the domain."""
    with FakeUpstreams().running() as fake:
        fake.add_profiles(ORG, [_wire_profile(c) for c in contacts])
        async with UpstreamClient("isA_Data", fake.base_url) as client:
            clock = FixedClock()
            source = HttpAudienceSource(client, MemorySuppressionStore(clock=clock))
            found = {
                _label(condition): "".join(await member_ids(source, [include(condition)]))
                for condition, _ in cases
            }

    assert found == {_label(c): expected for c, expected in cases}
