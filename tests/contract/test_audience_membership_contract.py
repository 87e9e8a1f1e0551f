"""AudienceSource.member: one user's membership right now, as a trigger asks it (docs/triggers.md),
on every source: the in-memory reference, SQLite, Postgres and the data service over HTTP. It
must agree with what the stream (`recipients`) yields, and say "suppressed everywhere" instead of
dropping such a member."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from adapters.http import HttpAudienceSource, RetryPolicy, UpstreamClient
from adapters.http.audience import just_below
from adapters.memory.audience import MemorySuppressionStore
from domain.audience.contacts import Contact
from domain.audience.model import Audience, Segment, SegmentType, Suppression
from domain.audience.ports import AudienceSource, SuppressionStore
from domain.kernel.channels import Channel
from domain.kernel.errors import FailedPreconditionError
from tests.contract.audience_conftest import (
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

PEOPLE = [
    contact("p1", email="p1@x.test", email_opted_in=True, attributes={"plan": "pro", "c": "DE"}),
    contact("p2", email="p2@x.test", email_opted_in=True, attributes={"plan": "pro", "c": "FR"}),
    contact("p3", email="p3@x.test", email_opted_in=True, attributes={"plan": "free", "c": "DE"}),
    contact("p10", email="p10@x.test", attributes={"plan": "pro", "c": "DE"}),
    contact("p1a", attributes={"plan": "pro", "c": "DE"}),  # sorts between p1 and p2
]
PRO, GERMAN, FRENCH = (
    cond("plan", "equals", "pro"),
    cond("c", "equals", "DE"),
    cond("c", "equals", "FR"),
)


@dataclass
class World:
    source: AudienceSource
    suppressions: SuppressionStore
    add: Callable[[str, list[Contact]], Awaitable[None]]
    save_segment: Callable[[str, str, list[str]], Awaitable[None]]


def _user_360(c: Contact) -> dict[str, Any]:
    return {
        "user_id": c.user_id,
        "email": c.email,
        "email_opted_in": c.email_opted_in,
        "attributes": dict(c.attributes),
    }


@pytest.fixture(params=[*ALL, "http"])
async def world(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[World]:
    if request.param != "http":
        async with open_audience_backend(request.param, tmp_path) as opened:

            async def save(org: str, segment_id: str, user_ids: list[str]) -> None:
                conditions = (cond("user_id", "in", tuple(user_ids)),)
                await opened.segments.create(org, Segment(segment_id, segment_id, conditions))

            yield World(opened.source, opened.suppressions, opened.contacts.upsert, save)  # type: ignore[arg-type]
        return
    with FakeUpstreams().running() as fake:
        async with UpstreamClient(
            "data service", fake.base_url, retry=RetryPolicy(attempts=1)
        ) as client:
            suppressions = MemorySuppressionStore()

            async def add(org: str, people: list[Contact]) -> None:
                fake.add_profiles(org, [_user_360(p) for p in people])

            async def save_upstream(org: str, segment_id: str, user_ids: list[str]) -> None:
                fake.add_segment(org, segment_id, sorted(user_ids))

            yield World(HttpAudienceSource(client, suppressions), suppressions, add, save_upstream)


async def membership(world: World, audiences: list[Audience], user_id: str) -> bool:
    return await world.source.member(ORG, audiences, user_id) is not None


async def test_membership_agrees_with_the_stream(world: World) -> None:
    await world.add(ORG, PEOPLE)
    cases = [
        [everyone()],
        [include(PRO, audience_id="i1"), include(GERMAN, audience_id="i2")],
        [everyone(), exclude(FRENCH, audience_id="x1"), exclude(cond("plan", "equals", "free"))],
        [exclude(PRO)],  # no include: nobody
    ]
    for audiences in cases:
        streamed = set(await member_ids(world.source, audiences))
        asked = {p.user_id for p in PEOPLE if await membership(world, audiences, p.user_id)}
        assert asked == streamed, audiences
    assert not await membership(world, [everyone()], "nobody")
    assert not await membership(world, [everyone()], "")


async def test_members_of_many_users_agree_with_one_at_a_time(world: World) -> None:
    await world.add(ORG, PEOPLE)
    await world.suppressions.add(ORG, [Suppression(user_id="p3")])
    asked = [*(p.user_id for p in PEOPLE), "nobody", "p1"]  # an unknown user, a repeat
    for audiences in ([everyone()], [include(PRO), exclude(FRENCH)], [exclude(PRO)]):
        one_by_one = {u: await world.source.member(ORG, audiences, u) for u in asked}
        together = await world.source.members(ORG, audiences, asked)
        assert together == {u: r for u, r in one_by_one.items() if r is not None}, audiences
    assert set(await world.source.members(ORG, [everyone()], asked)) == {
        "p1",
        "p2",
        "p3",
        "p10",
        "p1a",
    }
    assert await world.source.members(OTHER_ORG, [everyone()], asked) == {}
    assert await world.source.members(ORG, [everyone()], []) == {}


async def test_a_member_carries_the_contact_and_their_suppressed_channels(world: World) -> None:
    await world.add(ORG, PEOPLE)
    await world.suppressions.add(
        ORG, [Suppression(user_id="p2", channel=Channel.EMAIL), Suppression(user_id="p3")]
    )

    p1 = await world.source.member(ORG, [everyone()], "p1")
    p2 = await world.source.member(ORG, [everyone()], "p2")
    p3 = await world.source.member(ORG, [everyone()], "p3")

    assert p1 is not None
    assert (p1.contact.email, p1.contact.attributes["plan"], p1.suppressed_channels) == (
        "p1@x.test",
        "pro",
        frozenset(),
    )
    assert p2 is not None
    assert p2.suppressed_channels == frozenset({Channel.EMAIL})
    assert p3 is not None  # suppressed everywhere: a member all the same, saying so
    assert p3.suppressed_channels == frozenset(Channel)


async def test_membership_of_a_saved_segment_and_of_another_organization(world: World) -> None:
    await world.add(ORG, PEOPLE)
    await world.add(OTHER_ORG, [contact("q1")])
    await world.save_segment(ORG, "seg", ["p1", "p2"])
    segment = [Audience("a0", SegmentType.INCLUDE, segment_id="seg")]

    assert [p.user_id for p in PEOPLE if await membership(world, segment, p.user_id)] == [
        "p1",
        "p2",
    ]
    assert not await membership(world, [everyone()], "q1")
    with pytest.raises(FailedPreconditionError, match="gone"):
        await world.source.member(
            ORG, [Audience("a0", SegmentType.INCLUDE, segment_id="gone")], "p1"
        )


@pytest.mark.parametrize("user_id", ["p1", "a", "u\x00", "x\ue000", "\U0010ffff", "p1a"])
def test_just_below_sorts_before_the_user_id(user_id: str) -> None:
    below = just_below(user_id)
    assert below < user_id
    assert not any(0xD800 <= ord(ch) <= 0xDFFF for ch in below)
