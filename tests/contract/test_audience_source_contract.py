"""AudienceSource contract: includes AND, excludes OR, segments, suppression, batches, counts."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, replace
from pathlib import Path

import pytest

from adapters.http import HttpAudienceSource, RetryPolicy, UpstreamClient
from adapters.memory.audience import MemorySuppressionStore
from domain.audience.contacts import Contact, reachable
from domain.audience.model import Audience, Segment, SegmentType, Suppression
from domain.audience.ports import AudienceSource
from domain.kernel.channels import Channel
from domain.kernel.errors import FailedPreconditionError
from tests.contract.audience_conftest import (
    AudienceBackend,
    batches,
    cond,
    contact,
    everyone,
    exclude,
    include,
    member_ids,
    open_audience_backend,
)
from tests.contract.builders import ORG, OTHER_ORG
from tests.contract.conftest import ALL
from tests.support.fake_upstreams import FakeUpstreams


def person(user_id: str, plan: str, country: str, **fields: object) -> Contact:
    return contact(user_id, attributes={"plan": plan, "country": country}, **fields)


PEOPLE = [
    person("p1", "pro", "DE"),
    person("p2", "pro", "FR"),
    person("p3", "free", "DE"),
    person("p4", "pro", "DE", locale="de-DE"),
    person("p5", "free", "FR"),
]
PRO, GERMAN = cond("plan", "equals", "pro"), cond("country", "equals", "DE")


async def test_includes_intersect_and_excludes_unite(audience: AudienceBackend) -> None:
    await audience.contacts.upsert(ORG, PEOPLE)

    both = [include(PRO, audience_id="i1"), include(GERMAN, audience_id="i2")]
    minus_either = [
        everyone(),
        exclude(PRO, audience_id="x1"),
        exclude(cond("country", "equals", "FR"), audience_id="x2"),
    ]
    mixed = [*both, exclude(cond("locale", "equals", "de-DE"))]

    assert await member_ids(audience.source, both) == ["p1", "p4"]
    assert await member_ids(audience.source, minus_either) == ["p3"]
    assert await member_ids(audience.source, mixed) == ["p1"]


async def test_an_exclude_on_a_missing_attribute_keeps_those_without_it(
    audience: AudienceBackend,
) -> None:
    await audience.contacts.upsert(ORG, [*PEOPLE, contact("p6", attributes={"plan": "pro"})])

    not_french = [include(PRO), exclude(cond("country", "equals", "FR"))]
    unless_elsewhere = [include(PRO), exclude(cond("country", "not_equals", "DE"))]

    assert await member_ids(audience.source, not_french) == ["p1", "p4", "p6"]
    assert await member_ids(audience.source, unless_elsewhere) == ["p1", "p4", "p6"]
    assert (await audience.source.counts(ORG, not_french)).after_exclusions == 3


async def test_without_an_include_audience_nobody_is_a_member(audience: AudienceBackend) -> None:
    await audience.contacts.upsert(ORG, PEOPLE)

    only_excludes = [exclude(PRO)]

    assert await batches(audience.source, []) == []
    assert await batches(audience.source, only_excludes) == []
    counts = await audience.source.counts(ORG, only_excludes)
    assert (counts.by_segment, counts.after_exclusions, counts.after_suppression) == ((3,), 0, 0)
    assert set(counts.reachable_by_channel.values()) == {0}


async def test_an_audience_may_name_a_saved_segment(audience: AudienceBackend) -> None:
    await audience.contacts.upsert(ORG, PEOPLE)
    await audience.segments.create(ORG, Segment("seg-de", "Germany", (GERMAN,)))

    by_segment = [Audience("a1", SegmentType.INCLUDE, segment_id="seg-de"), exclude(PRO)]

    assert await member_ids(audience.source, by_segment) == ["p3"]
    assert (await audience.source.counts(ORG, by_segment)).by_segment == (3, 3)


async def test_an_unknown_segment_is_a_failed_precondition_naming_it(
    audience: AudienceBackend,
) -> None:
    await audience.segments.create(OTHER_ORG, Segment("seg-de", "Germany", (GERMAN,)))
    audiences = [everyone(), Audience("a2", SegmentType.EXCLUDE, segment_id="seg-de")]

    with pytest.raises(FailedPreconditionError, match="seg-de") as streamed:
        await batches(audience.source, audiences)
    with pytest.raises(FailedPreconditionError, match="seg-de") as counted:
        await audience.source.counts(ORG, audiences)

    assert streamed.value.metadata["segment_id"] == "seg-de"
    assert counted.value.violations[0].subject == "audiences[1].segment_id"


# --- a missing segment: every source, the data service's included, answers alike -----------


@dataclass
class SegmentWorld:
    """A source and a way to save a segment in it: the built-in directory's (memory, SQLite,
    Postgres) or the data service's (a real HTTP server playing isA_Data)."""

    source: AudienceSource
    save: Callable[[str, str, list[Contact]], Awaitable[None]]


@pytest.fixture(params=[*ALL, "http"])
async def segment_world(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[SegmentWorld]:
    if request.param != "http":
        async with open_audience_backend(request.param, tmp_path) as opened:

            async def save(org: str, segment_id: str, people: list[Contact]) -> None:
                await opened.contacts.upsert(org, people)
                ids = [cond("user_id", "equals", p.user_id) for p in people[:1]]
                await opened.segments.create(org, Segment(segment_id, segment_id, tuple(ids)))

            yield SegmentWorld(opened.source, save)
        return
    with FakeUpstreams().running() as fake:
        async with UpstreamClient(
            "data service", fake.base_url, retry=RetryPolicy(attempts=1)
        ) as client:

            async def save_upstream(org: str, segment_id: str, people: list[Contact]) -> None:
                fake.add_profiles(org, [{"user_id": p.user_id} for p in people])
                fake.add_segment(org, segment_id, [p.user_id for p in people[:1]])

            source = HttpAudienceSource(client, MemorySuppressionStore())
            yield SegmentWorld(source, save_upstream)


async def test_every_source_answers_a_missing_segment_as_a_failed_precondition(
    segment_world: SegmentWorld,
) -> None:
    await segment_world.save(OTHER_ORG, "seg-de", [contact("p1")])
    await segment_world.save(ORG, "seg-kept", [contact("p1")])
    audiences = [
        Audience("a0", SegmentType.INCLUDE, segment_id="seg-kept"),
        Audience("a1", SegmentType.INCLUDE, segment_id="seg-gone"),
        Audience("a2", SegmentType.EXCLUDE, segment_id="seg-de"),
    ]
    source = segment_world.source

    with pytest.raises(FailedPreconditionError, match="seg-gone") as streamed:
        await batches(source, audiences)
    with pytest.raises(FailedPreconditionError, match="seg-gone") as counted:
        await source.counts(ORG, audiences)
    missing = await source.missing_segments(ORG, audiences)

    for raised in (streamed.value, counted.value):
        assert [v.subject for v in raised.violations] == ["audiences[1].segment_id"]
        assert raised.violations[0].type == "SEGMENT_NOT_FOUND"
        assert raised.metadata["segment_id"] == "seg-gone"
    assert list(missing) == [1, 2]  # the include and the exclude (another org's) alike
    assert await source.missing_segments(ORG, audiences[:1]) == []
    assert await member_ids(source, audiences[:1]) == ["p1"]


async def test_members_of_other_organizations_never_appear(audience: AudienceBackend) -> None:
    await audience.contacts.upsert(ORG, PEOPLE[:2])
    await audience.contacts.upsert(OTHER_ORG, PEOPLE)
    await audience.suppressions.add(OTHER_ORG, [Suppression(user_id="p1")])

    assert await member_ids(audience.source, [everyone()]) == ["p1", "p2"]
    assert (await audience.source.counts(ORG, [everyone()])).after_suppression == 2


REACHABLE = Contact(
    "r1",
    email="x@example.com",
    phone="+14155550100",
    whatsapp_verified=True,
    email_opted_in=True,
    sms_opted_in=True,
    whatsapp_opted_in=True,
    in_app_opted_in=True,
)


def _reachable_person(n: int) -> Contact:
    return replace(REACHABLE, user_id=f"s{n}", email=f"s{n}@example.com", phone=f"+1415555{n:04d}")


SUPPRESSION_CASES: list[tuple[Suppression, frozenset[Channel] | None]] = [
    (Suppression(user_id="s0"), None),
    (Suppression(user_id="s0", channel=Channel.EMAIL), frozenset({Channel.EMAIL})),
    (Suppression(address="s0@example.com"), None),
    (Suppression(address="s0@example.com", channel=Channel.EMAIL), frozenset({Channel.EMAIL})),
    (Suppression(address="s0@example.com", channel=Channel.SMS), frozenset()),
    (Suppression(address="+14155550000"), None),
    (Suppression(address="+14155550000", channel=Channel.SMS), frozenset({Channel.SMS})),
    (
        Suppression(address="+14155550000", channel=Channel.WHATSAPP),
        frozenset({Channel.WHATSAPP}),
    ),
    (Suppression(address="+14155550000", channel=Channel.IN_APP), frozenset()),
]


@pytest.mark.parametrize(("entry", "suppressed"), SUPPRESSION_CASES)
async def test_suppression_drops_a_member_or_marks_their_channels(
    audience: AudienceBackend, entry: Suppression, suppressed: frozenset[Channel] | None
) -> None:
    await audience.contacts.upsert(ORG, [_reachable_person(0), _reachable_person(1)])
    await audience.suppressions.add(ORG, [entry])

    streamed = {
        r.contact.user_id: r.suppressed_channels
        for b in await batches(audience.source, [everyone()])
        for r in b
    }
    counts = await audience.source.counts(ORG, [everyone()])

    if suppressed is None:
        assert streamed == {"s1": frozenset()}
    else:
        assert streamed == {"s0": suppressed, "s1": frozenset()}
    assert counts.after_exclusions == 2
    assert counts.after_suppression == len(streamed)
    assert counts.reachable_by_channel == {
        c: sum(c not in channels for channels in streamed.values()) for c in Channel
    }


async def test_a_member_suppressed_on_each_channel_separately_is_dropped(
    audience: AudienceBackend,
) -> None:
    await audience.contacts.upsert(ORG, [_reachable_person(0), _reachable_person(1)])
    await audience.suppressions.add(
        ORG,
        [
            Suppression(address="s0@example.com", channel=Channel.EMAIL),
            Suppression(address="+14155550000", channel=Channel.SMS),
            Suppression(user_id="s0", channel=Channel.WHATSAPP),
            Suppression(user_id="s0", channel=Channel.IN_APP),
        ],
    )

    before = await member_ids(audience.source, [everyone()])
    await audience.suppressions.add(ORG, [Suppression(user_id="s0", channel=Channel.WEBHOOK)])
    after = await member_ids(audience.source, [everyone()])

    assert (before, after) == (["s0", "s1"], ["s1"])
    assert (await audience.source.counts(ORG, [everyone()])).after_suppression == 1


async def test_reach_needs_consent_an_address_and_no_suppression_on_the_channel(
    audience: AudienceBackend,
) -> None:
    people = [
        REACHABLE,
        contact("r2", email="r2@example.com", email_opted_in=False, in_app_opted_in=True),
        contact("r3", phone="+14155550103", sms_opted_in=True, whatsapp_opted_in=True),
        contact("r4", phone="+14155550104", whatsapp_opted_in=True, whatsapp_verified=True),
        contact("r5"),
    ]
    await audience.contacts.upsert(ORG, people)
    await audience.suppressions.add(ORG, [Suppression(user_id="r4", channel=Channel.WHATSAPP)])

    counts = await audience.source.counts(ORG, [everyone()])

    assert counts.reachable_by_channel == {
        Channel.EMAIL: 1,
        Channel.SMS: 2,  # r1, r3
        Channel.WHATSAPP: 1,  # r1; r3 is not verified, r4 is suppressed there
        Channel.IN_APP: 2,
        Channel.WEBHOOK: 5,
    }
    assert counts.reachable_by_channel == {
        c: sum(reachable(p, c) for p in people) - (c is Channel.WHATSAPP) for c in Channel
    }


async def test_recipients_come_in_code_point_order_in_batches_of_the_asked_size(
    audience: AudienceBackend,
) -> None:
    user_ids = ["b", "B", "_", "a-10", "a-9", "é", "Z", "a", "a-1", "ä", "0"]
    await audience.contacts.upsert(ORG, [contact(u) for u in reversed(user_ids)])

    found = await batches(audience.source, [everyone()], batch_size=4)

    assert [len(batch) for batch in found] == [4, 4, 3]
    assert [r.contact.user_id for batch in found for r in batch] == sorted(user_ids)


async def test_a_stream_resumes_after_a_user_id(audience: AudienceBackend) -> None:
    await audience.contacts.upsert(ORG, [contact(f"u-{n:02d}") for n in range(25)])

    resumed = await batches(audience.source, [everyone()], after_user_id="u-09", batch_size=10)
    between = await batches(audience.source, [everyone()], after_user_id="u-095", batch_size=10)
    past_the_end = await batches(audience.source, [everyone()], after_user_id="u-24")

    assert [[r.contact.user_id for r in b] for b in resumed] == [
        [f"u-{n:02d}" for n in range(10, 20)],
        [f"u-{n:02d}" for n in range(20, 25)],
    ]
    assert between == resumed  # a checkpoint need not be a member
    assert past_the_end == []


async def test_an_exact_multiple_of_the_batch_size_ends_cleanly(audience: AudienceBackend) -> None:
    await audience.contacts.upsert(ORG, [contact(f"u-{n:02d}") for n in range(20)])

    found = await batches(audience.source, [everyone()], batch_size=10)

    assert [len(b) for b in found] == [10, 10]


async def test_a_recipient_carries_the_whole_contact(audience: AudienceBackend) -> None:
    stored = replace(REACHABLE, attributes={"plan": "pro", "n": [1, 2]})
    await audience.contacts.upsert(ORG, [stored])

    [[recipient]] = await batches(audience.source, [everyone()])

    assert recipient.contact == await audience.contacts.get(ORG, "r1")
    assert recipient.suppressed_channels == frozenset()


async def test_counts_agree_with_what_the_stream_yields(audience: AudienceBackend) -> None:
    people = [
        contact(
            f"c{n:03d}",
            email=f"c{n}@example.com" if n % 2 else "",
            email_opted_in=bool(n % 2),
            phone=f"+1415555{n:04d}",
            sms_opted_in=n % 3 == 0,
            in_app_opted_in=n % 5 == 0,
            attributes={"n": n, "plan": ["free", "pro", "max"][n % 3]},
        )
        for n in range(120)
    ]
    await audience.contacts.upsert(ORG, people)
    await audience.suppressions.add(
        ORG,
        [Suppression(user_id=f"c{n:03d}") for n in range(0, 120, 13)]
        + [
            Suppression(address=f"c{n}@example.com", channel=Channel.EMAIL)
            for n in range(1, 120, 7)
        ]
        + [Suppression(address=f"+1415555{n:04d}", channel=Channel.SMS) for n in range(0, 120, 9)],
    )
    audiences = [
        include(cond("n", "less_than", 100), audience_id="i1"),
        include(cond("plan", "not_equals", "free"), audience_id="i2"),
        exclude(cond("n", "greater_than", 90), audience_id="x1"),
        exclude(cond("plan", "equals", "max"), cond("n", "less_than", 10), audience_id="x2"),
    ]

    streamed = [
        r for batch in await batches(audience.source, audiences, batch_size=7) for r in batch
    ]
    counts = await audience.source.counts(ORG, audiences)

    in_each = [
        sum(n < 100 for n in range(120)),
        sum(n % 3 != 0 for n in range(120)),
        sum(n > 90 for n in range(120)),
        sum(n % 3 == 2 and n < 10 for n in range(120)),
    ]
    members = [
        n for n in range(120) if n < 100 and n % 3 and not n > 90 and not (n % 3 == 2 and n < 10)
    ]
    assert counts.by_segment == tuple(in_each)
    assert counts.after_exclusions == len(members)
    assert counts.after_suppression == len(streamed)
    assert len(streamed) == sum(n % 13 != 0 for n in members)
    assert counts.reachable_by_channel == {
        c: sum(reachable(r.contact, c) and c not in r.suppressed_channels for r in streamed)
        for c in Channel
    }
