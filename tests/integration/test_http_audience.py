"""HttpAudienceSource against a real local data service: paging, set algebra, profiles,
suppression, counts and the last-good fallback (EC-CAM-002)."""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import AsyncIterator, Iterator, Sequence
from typing import Any

import pytest

from adapters.http import (
    HttpAudienceSource,
    RetryPolicy,
    SegmentNotFoundError,
    Timeouts,
    UpstreamClient,
    UpstreamUnavailableError,
)
from domain.audience.contacts import Contact, reachable
from domain.audience.model import (
    Audience,
    Condition,
    ConditionOperator,
    Recipient,
    SegmentType,
    Suppression,
    SuppressionReason,
)
from domain.kernel.channels import Channel
from domain.kernel.errors import DependencyUnavailableError, FailedPreconditionError
from tests.support.fake_upstreams import (
    ANY_ROUTE,
    MEMBERS,
    PROFILES,
    SCHEMA,
    SERVICE_UNAVAILABLE,
    FakeUpstreams,
)

ORG = "org-1"
USERS = [f"u{n}" for n in range(1, 5001)]  # unpadded: string order is not numeric order
INCLUDE, EXCLUDE = SegmentType.INCLUDE, SegmentType.EXCLUDE


class MemorySuppressions:
    """The SuppressionStore port in a dict: by user id or by address, per channel or all."""

    def __init__(self, entries: Sequence[Suppression] = ()) -> None:
        self.entries = list(entries)
        self.calls = 0

    async def add(self, organization_id: str, entries: Sequence[Suppression]) -> int:
        new = [e for e in entries if e not in self.entries]
        self.entries.extend(new)
        return len(new)

    async def remove(self, organization_id: str, entries: Sequence[Suppression]) -> int:
        before = len(self.entries)
        self.entries = [e for e in self.entries if e not in entries]
        return before - len(self.entries)

    async def list(
        self, organization_id: str, *, channel: Any = None, reason: Any = None, after: str = "",
        limit: int = 100,
    ) -> tuple[Sequence[Suppression], str]:  # fmt: skip
        return self.entries[:limit], ""

    async def suppressed_channels(
        self, organization_id: str, contacts: Sequence[Contact]
    ) -> dict[str, frozenset[Channel] | None]:
        self.calls += 1
        result: dict[str, frozenset[Channel] | None] = {}
        for contact in contacts:
            hits = [
                e
                for e in self.entries
                if (e.user_id and e.user_id == contact.user_id)
                or (e.address and e.address in (contact.email, contact.phone))
            ]
            if any(e.channel is None for e in hits):
                result[contact.user_id] = None
            elif hits:
                result[contact.user_id] = frozenset(e.channel for e in hits if e.channel)
        return result


def profile(user_id: str, rng: random.Random) -> dict[str, Any]:
    return {
        "user_id": user_id,
        "email": f"{user_id}@example.com",
        "phone": "+1415555" + user_id[1:].zfill(4),
        "whatsapp_verified": rng.random() < 0.5,
        "timezone": "Europe/Berlin",
        "locale": "de-DE",
        "email_opted_in": rng.random() < 0.8,
        "sms_opted_in": rng.random() < 0.4,
        "whatsapp_opted_in": rng.random() < 0.3,
        "in_app_opted_in": rng.random() < 0.6,
        "attributes": {
            "tier": rng.choice(["gold", "silver", "bronze"]),
            "country": rng.choice(["DE", "FR", "US", "US", "US", "ES"]),
        },
    }


class World:
    """5,000 users, three segments and the same audience computed by brute force."""

    def __init__(self, fake: FakeUpstreams) -> None:
        rng = random.Random(20260101)
        self.profiles = {u: profile(u, rng) for u in USERS}
        fake.add_profiles(ORG, list(self.profiles.values()))
        self.segments = {
            "active": {u for u in USERS if rng.random() < 0.6},
            "engaged": {u for u in USERS if rng.random() < 0.7},
            "churned": {u for u in USERS if rng.random() < 0.1},
        }
        for segment_id, members in self.segments.items():
            fake.add_segment(ORG, segment_id, list(members))
        not_bronze = Condition("tier", ConditionOperator.NOT_EQUALS, "bronze")
        in_france = Condition("country", ConditionOperator.EQUALS, "FR")
        self.audiences = (
            Audience("a1", INCLUDE, segment_id="active"),
            Audience("a2", INCLUDE, segment_id="engaged"),
            Audience("a3", INCLUDE, query=(not_bronze,)),
            Audience("a4", EXCLUDE, segment_id="churned"),
            Audience("a5", EXCLUDE, query=(in_france,)),
        )
        gold_or_silver = {
            u for u, p in self.profiles.items() if p["attributes"]["tier"] != "bronze"
        }
        french = {u for u, p in self.profiles.items() if p["attributes"]["country"] == "FR"}
        self.by_segment = [
            len(self.segments["active"]),
            len(self.segments["engaged"]),
            len(gold_or_silver),
            len(self.segments["churned"]),
            len(french),
        ]
        self.expected = sorted(
            (self.segments["active"] & self.segments["engaged"] & gold_or_silver)
            - (self.segments["churned"] | french)
        )


@pytest.fixture
def fake() -> Iterator[FakeUpstreams]:
    with FakeUpstreams(max_page=100, max_batch=50).running() as upstream:
        yield upstream


@pytest.fixture
def world(fake: FakeUpstreams) -> World:
    return World(fake)


@pytest.fixture
async def client(fake: FakeUpstreams) -> AsyncIterator[UpstreamClient]:
    async with UpstreamClient(
        "isA_Data",
        fake.base_url,
        timeouts=Timeouts(connect=0.5, read=2.0),
        retry=RetryPolicy(attempts=2, base_delay=0.01, max_delay=0.02),
    ) as upstream:
        yield upstream


def source(
    client: UpstreamClient, suppressions: MemorySuppressions | None = None, **options: Any
) -> HttpAudienceSource:
    settings: dict[str, Any] = {"page_size": 97, "profile_batch_size": 50, **options}
    return HttpAudienceSource(client, suppressions or MemorySuppressions(), **settings)


async def collect(
    audience_source: HttpAudienceSource,
    audiences: Sequence[Audience],
    *,
    after_user_id: str = "",
    batch_size: int = 333,
) -> list[Sequence[Recipient]]:
    return [
        batch
        async for batch in audience_source.recipients(
            ORG, audiences, after_user_id=after_user_id, batch_size=batch_size
        )
    ]


def ids(batches: list[Sequence[Recipient]]) -> list[str]:
    return [r.contact.user_id for batch in batches for r in batch]


# --- resolution ----------------------------------------------------------------------------


async def test_members_are_paged_by_cursor(fake: FakeUpstreams, client: UpstreamClient) -> None:
    members = [f"m{n:03}" for n in range(250)]
    fake.add_segment(ORG, "small", members)
    fake.add_profiles(ORG, [{"user_id": m} for m in members])

    batches = await collect(
        source(client, page_size=100), [Audience("a", INCLUDE, segment_id="small")]
    )

    assert ids(batches) == members
    assert [(r.body["after_user_id"], r.body["limit"]) for r in fake.of(MEMBERS)] == [
        ("", 100),
        ("m099", 100),
        ("m199", 100),
    ]


async def test_includes_intersect_and_excludes_union_like_the_brute_force_sets(
    fake: FakeUpstreams, client: UpstreamClient, world: World
) -> None:
    batches = await collect(source(client), world.audiences)

    assert ids(batches) == world.expected
    assert all(0 < len(b) <= 333 for b in batches)
    assert len(world.expected) > 500  # a meaningful sample, not an accident of the seed
    assert len(fake.of(MEMBERS)) > 5 * 10  # every stream crossed many pages
    assert all(len(r.body["user_ids"]) <= 50 for r in fake.of(PROFILES))


async def test_resolution_resumes_after_a_checkpoint(client: UpstreamClient, world: World) -> None:
    checkpoint = world.expected[400]

    batches = await collect(source(client), world.audiences, after_user_id=checkpoint)

    assert ids(batches) == world.expected[401:]


async def test_an_audience_of_only_exclusions_is_empty_not_everyone(
    fake: FakeUpstreams, client: UpstreamClient, world: World
) -> None:
    excludes = [a for a in world.audiences if a.segment_type is EXCLUDE]

    assert await collect(source(client), excludes) == []
    assert fake.count(ANY_ROUTE) == 0


async def test_profiles_are_mapped_to_contacts(fake: FakeUpstreams, client: UpstreamClient) -> None:
    fake.add_segment(ORG, "vip", ["p1", "p2", "p3"])
    fake.add_profiles(
        ORG,
        [
            {
                "user_id": "p1",
                "email": "ada@example.com",
                "phone": "+14155550100",
                "whatsapp_verified": True,
                "timezone": "America/New_York",
                "locale": "en-US",
                "email_opted_in": True,
                "sms_opted_in": False,
                "whatsapp_opted_in": True,
                "in_app_opted_in": True,
                "attributes": {"first_name": "Ada", "orders": 3},
            },
            {"user_id": "p2", "email_opted_in": "yes", "timezone": "Mars/Olympus", "email": None},
        ],
    )  # p3 has no profile any more: dropped

    (batch,) = await collect(source(client), [Audience("a", INCLUDE, segment_id="vip")])

    assert [r.contact for r in batch] == [
        Contact(
            user_id="p1",
            email="ada@example.com",
            phone="+14155550100",
            whatsapp_verified=True,
            timezone="America/New_York",
            locale="en-US",
            email_opted_in=True,
            whatsapp_opted_in=True,
            in_app_opted_in=True,
            attributes={"first_name": "Ada", "orders": 3},
        ),
        Contact(user_id="p2", timezone="UTC"),  # consent only from a JSON true
    ]


async def test_suppressions_drop_fully_suppressed_and_mark_per_channel_ones(
    fake: FakeUpstreams, client: UpstreamClient
) -> None:
    users = ["s1", "s2", "s3", "s4", "s5"]
    fake.add_segment(ORG, "all", users)
    fake.add_profiles(ORG, [{"user_id": u, "email": f"{u}@example.com"} for u in users])
    suppressions = MemorySuppressions(
        [
            Suppression(user_id="s1", reason=SuppressionReason.UNSUBSCRIBED),
            Suppression(user_id="s2", channel=Channel.EMAIL, reason=SuppressionReason.BOUNCED),
            Suppression(user_id="s2", channel=Channel.SMS),
            Suppression(address="s4@example.com", reason=SuppressionReason.COMPLAINED),
            *[Suppression(user_id="s5", channel=c) for c in Channel],
        ]
    )

    (batch,) = await collect(
        source(client, suppressions), [Audience("a", INCLUDE, segment_id="all")]
    )

    assert [(r.contact.user_id, r.suppressed_channels) for r in batch] == [
        ("s2", frozenset({Channel.EMAIL, Channel.SMS})),
        ("s3", frozenset()),
    ]


async def test_an_unknown_segment_is_a_failed_precondition_like_the_built_in_directory_s(
    client: UpstreamClient, world: World
) -> None:
    with pytest.raises(FailedPreconditionError) as raised:
        await collect(source(client), [Audience("a", INCLUDE, segment_id="nope")])

    assert [v.subject for v in raised.value.violations] == ["audiences[0].segment_id"]
    assert isinstance(raised.value.__cause__, SegmentNotFoundError)


# --- counts --------------------------------------------------------------------------------


async def test_counts_report_the_funnel(client: UpstreamClient, world: World) -> None:
    suppressed = world.expected[::10]
    suppressions = MemorySuppressions(
        [Suppression(user_id=u) for u in suppressed]
        + [Suppression(user_id=u, channel=Channel.EMAIL) for u in world.expected[1::10]]
    )

    counts = await source(client, suppressions).counts(ORG, world.audiences)

    survivors = [u for u in world.expected if u not in set(suppressed)]
    email_blocked = set(world.expected[1::10])
    contacts = {u: Contact(**world.profiles[u]) for u in survivors}
    assert counts.by_segment == tuple(world.by_segment)
    assert counts.after_exclusions == len(world.expected)
    assert counts.after_suppression == len(survivors)
    assert counts.reachable_by_channel[Channel.EMAIL] == sum(
        reachable(c, Channel.EMAIL) and u not in email_blocked for u, c in contacts.items()
    )
    for channel in (Channel.SMS, Channel.WHATSAPP, Channel.IN_APP):
        assert counts.reachable_by_channel[channel] == sum(
            reachable(c, channel) for c in contacts.values()
        )


# --- the data service fails (EC-CAM-002) ---------------------------------------------------


async def test_the_last_good_result_is_used_with_a_warning_when_the_service_fails(
    fake: FakeUpstreams,
    client: UpstreamClient,
    world: World,
    caplog: pytest.LogCaptureFixture,
) -> None:
    audience_source = source(client)
    good = ids(await collect(audience_source, world.audiences))
    good_counts = await audience_source.counts(ORG, world.audiences)
    fake.fail_always(ANY_ROUTE, SERVICE_UNAVAILABLE)

    with caplog.at_level(logging.WARNING, logger="campaign.http"):
        stale = ids(await collect(audience_source, world.audiences))
        stale_counts = await audience_source.counts(ORG, world.audiences)

    assert stale == good == world.expected
    assert stale_counts == good_counts
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any("isA_Data unavailable" in w and "member list" in w for w in warnings)
    assert any("profiles served from cache" in w for w in warnings)


async def test_the_last_good_result_survives_the_service_process_going_away(
    fake: FakeUpstreams, client: UpstreamClient, world: World
) -> None:
    audience_source = source(client)
    good = ids(await collect(audience_source, world.audiences, after_user_id=world.expected[99]))
    await collect(audience_source, world.audiences)  # only a walk from the start is kept
    fake.stop()  # connections refused from now on

    resumed = ids(await collect(audience_source, world.audiences, after_user_id=world.expected[99]))

    assert resumed == good == world.expected[100:]


async def test_nothing_cached_and_the_service_down_is_dependency_unavailable(
    fake: FakeUpstreams, client: UpstreamClient, world: World
) -> None:
    fake.fail_always(ANY_ROUTE, SERVICE_UNAVAILABLE)

    with pytest.raises(DependencyUnavailableError) as raised:
        await collect(source(client), world.audiences)
    assert raised.value.metadata["upstream"] == "isA_Data"
    with pytest.raises(DependencyUnavailableError):
        await source(client).counts(ORG, world.audiences)


async def test_the_last_good_result_expires(
    fake: FakeUpstreams, client: UpstreamClient, world: World
) -> None:
    audience_source = source(client, stale_ttl=0.2)
    await collect(audience_source, world.audiences)
    await asyncio.sleep(0.3)
    fake.fail_always(ANY_ROUTE, SERVICE_UNAVAILABLE)

    with pytest.raises(UpstreamUnavailableError):
        await collect(audience_source, world.audiences)


async def test_member_lists_beyond_the_cache_bound_are_not_kept(
    fake: FakeUpstreams, client: UpstreamClient, world: World
) -> None:
    audience_source = source(client, stale_members_max=1_000)  # "active" alone is ~3,000
    await collect(audience_source, world.audiences)
    fake.fail_always(MEMBERS, SERVICE_UNAVAILABLE)

    with pytest.raises(UpstreamUnavailableError):
        await collect(audience_source, world.audiences)


async def test_profiles_partly_cached_are_not_enough(
    fake: FakeUpstreams, client: UpstreamClient, world: World
) -> None:
    audience_source = source(client, stale_profiles_max=100)  # the last 100 profiles only
    await collect(audience_source, world.audiences)
    fake.fail_always(PROFILES, SERVICE_UNAVAILABLE)

    with pytest.raises(UpstreamUnavailableError, match="profiles not cached"):
        await collect(audience_source, world.audiences)


# --- profile schema (BR-CAM-008.2) -------------------------------------------------------------


async def test_profile_fields_are_the_schemas_fields_plus_the_contacts_own(
    fake: FakeUpstreams, client: UpstreamClient
) -> None:
    fake.set_schema(ORG, ["first_name", "plan"])

    fields = await source(client).profile_fields(ORG)

    assert fields == {
        *("first_name", "plan"),  # the schema's
        *("user_id", "email", "phone", "timezone", "locale", "unsubscribe_url"),  # every contact's
    }
    assert fake.of(SCHEMA)[0].query == {"organization_id": ORG}


async def test_a_service_without_a_schema_leaves_variables_unchecked(
    fake: FakeUpstreams, client: UpstreamClient
) -> None:
    assert await source(client).profile_fields(ORG) is None


async def test_the_schema_is_cached_and_a_malformed_one_is_a_bad_response(
    fake: FakeUpstreams, client: UpstreamClient
) -> None:
    fake.set_schema(ORG, ["first_name"])
    audience_source = source(client)
    first = await audience_source.profile_fields(ORG)
    fake.fail_always(ANY_ROUTE, SERVICE_UNAVAILABLE)

    assert await audience_source.profile_fields(ORG) == first  # within the cache's lifetime
    assert fake.count(SCHEMA) == 1
    fake.fail_always(ANY_ROUTE, None)
    fake.set_schema("org-2", [1, 2])  # type: ignore[list-item]
    with pytest.raises(UpstreamUnavailableError, match=r"expected \{fields"):
        await audience_source.profile_fields("org-2")


async def test_cache_lookups_are_told_for_the_metrics(
    fake: FakeUpstreams, client: UpstreamClient, world: World
) -> None:
    """Each cache lookup is told (cache name, hit): the schema cache on every read, the
    last-good caches when they stand in for the failing service."""
    told: list[tuple[str, bool]] = []
    fake.set_schema(ORG, ["first_name"])
    audience_source = source(client, cache_lookups=lambda cache, hit: told.append((cache, hit)))
    await audience_source.profile_fields(ORG)
    await audience_source.profile_fields(ORG)
    assert told == [("profile_schemas", False), ("profile_schemas", True)]

    await collect(audience_source, world.audiences)
    fake.fail_always(ANY_ROUTE, SERVICE_UNAVAILABLE)
    told.clear()
    await collect(audience_source, world.audiences)
    assert ("member_snapshots", True) in told
    assert ("profiles", True) in told
    assert all(hit for _, hit in told)
