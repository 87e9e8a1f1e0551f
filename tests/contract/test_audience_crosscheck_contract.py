"""SQL membership == domain.audience.conditions.matches_all, for random contacts and random
conditions.

Values are drawn from pools built to collide: numbers that are equal as doubles, numeric text,
booleans next to 0 and 1, null, objects, text with LIKE wildcards and different case, and
contact fields next to attributes of the same spelling. Seeded, so a failure replays.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Any

import pytest

from domain.audience.conditions import CONTACT_FIELDS, matches_all
from domain.audience.contacts import Contact
from domain.audience.model import Audience, Condition, ConditionOperator, SegmentType
from tests.contract.audience_conftest import AudienceBackend, contact, member_ids, profile
from tests.contract.builders import ORG

NUMBERS: list[Any] = [0, 1, -1, 2.5, 3, 3.0, 1e3, 0.1, -0.0, 2**53, 2**53 + 1, 1e20]
TEXTS: list[Any] = ["", "gold", "Gold", "go", "50%", "5_0", "a%b", "3", "3.0", "true", "é", "%"]
BOOLEANS: list[Any] = [True, False]
NUMERIC_TEXTS: list[Any] = ["-3", "007", "2.50", "1e3", "3.", "-", "1000"]
OTHERS: list[Any] = [None, {"k": 1, "n": "3"}, [1, "a"], {"k": {"n": 3}}]
# "email" is shadowed by the field; "o" holds objects for the dot paths "o.k" and "o.k.n"
KEYS = ["n", "s", "b", "mixed", "email", "café", "o"]
EMAILS = ["", "a@x.io", "B@x.io", "c_d@x.io", "50%@x.io", "gold@x.io"]
PHONES = ["", "+4915112345678", "+14155550100"]


def _contacts(rng: random.Random, count: int) -> list[Contact]:
    pools = {
        "n": NUMBERS,
        "s": TEXTS,
        "b": BOOLEANS,
        "mixed": NUMBERS + TEXTS + NUMERIC_TEXTS + BOOLEANS + OTHERS,
        "o": [{"k": rng.choice(NUMBERS + TEXTS + NUMERIC_TEXTS + OTHERS)}, "o", None],
        "email": TEXTS,
        "café": TEXTS + NUMBERS,
    }
    return [
        contact(
            f"u{n:04d}",
            email=rng.choice(EMAILS),
            phone=rng.choice(PHONES),
            locale=rng.choice(["", "en-US", "de-DE"]),
            timezone=rng.choice(["UTC", "Europe/Berlin"]),
            whatsapp_verified=rng.random() < 0.5,
            email_opted_in=rng.random() < 0.5,
            sms_opted_in=rng.random() < 0.5,
            in_app_opted_in=rng.random() < 0.5,
            attributes={k: rng.choice(pools[k]) for k in KEYS if rng.random() < 0.8},
        )
        for n in range(count)
    ]


ANY_VALUE = NUMBERS + TEXTS + NUMERIC_TEXTS + BOOLEANS + EMAILS
LIKELY_VALUES: dict[str, list[Any]] = {
    "n": NUMBERS,
    "s": TEXTS,
    "b": BOOLEANS,
    "café": TEXTS + NUMBERS,
    "email": [*EMAILS, "x.io", "@", "%", "_"],
    "phone": [*PHONES, "+49", "1"],
    "locale": ["", "en-US", "de-DE", "de"],
    "timezone": ["UTC", "Europe/Berlin", "Berlin"],
    "user_id": ["u0100", "u01", "", "u"],
    **{f: BOOLEANS for f in CONTACT_FIELDS if f.endswith(("_opted_in", "_verified"))},
}


def _condition(rng: random.Random) -> Condition:
    """Mostly a value of the field's own kind (so conditions match someone), sometimes any."""
    fields = [*KEYS, "absent", "o.k", "o.k.n", "absent.k", "email.k", *sorted(CONTACT_FIELDS)]
    field = rng.choice(fields)
    likely = LIKELY_VALUES.get(field, ANY_VALUE)

    def pick() -> Any:
        return rng.choice(likely if rng.random() < 0.75 else ANY_VALUE)

    operator = rng.choice(list(ConditionOperator))
    value: Any = pick()
    if operator in (ConditionOperator.IN, ConditionOperator.NOT_IN):
        value = tuple(pick() for _ in range(rng.randint(1, 4)))
    elif operator in (ConditionOperator.EXISTS, ConditionOperator.NOT_EXISTS):
        value = None
    return Condition(field, operator, value)


def _audiences(rng: random.Random) -> list[Audience]:
    def some(kind: SegmentType, n: int) -> list[Audience]:
        return [
            Audience(
                f"{kind}-{i}", kind, query=tuple(_condition(rng) for _ in range(rng.randint(0, 2)))
            )
            for i in range(n)
        ]

    return some(SegmentType.INCLUDE, rng.randint(0, 2)) + some(
        SegmentType.EXCLUDE, rng.randint(0, 2)
    )


def _domain_members(contacts: Sequence[Contact], audiences: Sequence[Audience]) -> list[str]:
    includes = [a.query for a in audiences if a.segment_type is SegmentType.INCLUDE]
    excludes = [a.query for a in audiences if a.segment_type is SegmentType.EXCLUDE]
    return sorted(
        c.user_id
        for c in contacts
        if includes
        and all(matches_all(q, profile(c)) for q in includes)
        and not any(matches_all(q, profile(c)) for q in excludes)
    )


@pytest.mark.parametrize("seed", [1, 2])
async def test_sql_members_are_exactly_the_domain_matches(
    sql_audience: AudienceBackend, seed: int
) -> None:
    rng = random.Random(seed)
    contacts = _contacts(rng, 200)
    await sql_audience.contacts.upsert(ORG, contacts)
    single = [[Audience("one", SegmentType.INCLUDE, query=(_condition(rng),))] for _ in range(200)]
    combined = [_audiences(rng) for _ in range(80)]

    mismatches: list[tuple[list[Audience], object]] = []
    for audiences in single + combined:
        found = await member_ids(sql_audience.source, audiences)
        expected = _domain_members(contacts, audiences)
        if found != expected:
            mismatches.append((audiences, sorted(set(found) ^ set(expected))[:5]))
        counts = await sql_audience.source.counts(ORG, audiences)
        if counts.after_exclusions != len(expected):
            mismatches.append((audiences, f"counted {counts.after_exclusions}"))

    assert mismatches == []
    sizes = [len(_domain_members(contacts, a)) for a in single]
    assert sum(0 < size < len(contacts) for size in sizes) > 50  # the cases bite
