"""ContactDirectory and SegmentStore contract: upserts, timestamps, tenancy, erasure, CRUD."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from domain.audience.contacts import Contact
from domain.audience.model import Segment, Suppression
from tests.contract.audience_conftest import AudienceBackend, cond, contact
from tests.contract.builders import ORG, OTHER_ORG, T0

FULL = Contact(
    "u-1",
    email="ann@example.com",
    phone="+14155550100",
    whatsapp_verified=True,
    timezone="Europe/Berlin",
    locale="de-DE",
    email_opted_in=True,
    sms_opted_in=True,
    whatsapp_opted_in=True,
    in_app_opted_in=True,
    attributes={
        "plan": "pro",
        "age": 41,
        "score": 2.5,
        "vip": True,
        "none": None,
        "tags": ["a", "b"],
        "address": {"city": "Köln", "zip": "50667"},
        'quo"te': "ünïcode ✓",
    },
)


def stamped(c: Contact, updated: timedelta = timedelta(0)) -> Contact:
    """As stored: created at T0 (the first write), updated `updated` later."""
    return replace(c, created_at=T0, updated_at=T0 + updated)


async def test_an_upserted_contact_reads_back_with_every_field(audience: AudienceBackend) -> None:
    written = await audience.contacts.upsert(ORG, [FULL])

    assert written == 1
    assert await audience.contacts.get(ORG, "u-1") == stamped(FULL)


async def test_a_minimal_contact_reads_back_with_the_defaults(audience: AudienceBackend) -> None:
    await audience.contacts.upsert(ORG, [contact("u-2")])

    assert await audience.contacts.get(ORG, "u-2") == stamped(contact("u-2"))


async def test_an_upsert_replaces_the_whole_contact_and_keeps_created_at(
    audience: AudienceBackend,
) -> None:
    await audience.contacts.upsert(ORG, [FULL])
    audience.clock.advance(timedelta(hours=1))
    replacement = contact("u-1", email="new@example.com", attributes={"plan": "free"})

    written = await audience.contacts.upsert(ORG, [replacement])

    assert written == 1
    expected = stamped(replacement, updated=timedelta(hours=1))
    assert await audience.contacts.get(ORG, "u-1") == expected


async def test_upserting_the_same_contact_again_changes_nothing(
    audience: AudienceBackend,
) -> None:
    await audience.contacts.upsert(ORG, [FULL])
    audience.clock.advance(timedelta(hours=1))

    written = await audience.contacts.upsert(ORG, [FULL])

    assert written == 1
    assert await audience.contacts.get(ORG, "u-1") == stamped(FULL)  # updated_at untouched


async def test_within_one_batch_the_last_contact_of_a_user_wins(
    audience: AudienceBackend,
) -> None:
    written = await audience.contacts.upsert(
        ORG, [contact("u-1", locale="fr-FR"), contact("u-2"), contact("u-1", locale="it-IT")]
    )

    assert written == 2
    found = await audience.contacts.get(ORG, "u-1")
    assert found is not None
    assert found.locale == "it-IT"


async def test_a_batch_larger_than_one_statement_is_written_whole(
    audience: AudienceBackend,
) -> None:
    many = [contact(f"u-{n:05d}", attributes={"n": n}) for n in range(2_500)]

    written = await audience.contacts.upsert(ORG, many)

    assert written == 2_500
    for n in (0, 999, 1_000, 2_499):
        found = await audience.contacts.get(ORG, f"u-{n:05d}")
        assert found is not None
        assert found.attributes == {"n": n}


async def test_an_empty_upsert_writes_nothing(audience: AudienceBackend) -> None:
    assert await audience.contacts.upsert(ORG, []) == 0


async def test_contacts_are_scoped_by_organization(audience: AudienceBackend) -> None:
    await audience.contacts.upsert(ORG, [contact("u-1", locale="en-US")])
    await audience.contacts.upsert(OTHER_ORG, [contact("u-1", locale="fr-FR")])

    mine = await audience.contacts.get(ORG, "u-1")
    theirs = await audience.contacts.get(OTHER_ORG, "u-1")
    deleted = await audience.contacts.delete(OTHER_ORG, "u-1")

    assert (mine and mine.locale, theirs and theirs.locale) == ("en-US", "fr-FR")
    assert deleted is True
    assert await audience.contacts.get(OTHER_ORG, "u-1") is None
    assert await audience.contacts.get(ORG, "u-1") is not None
    assert await audience.contacts.get(OTHER_ORG, "u-2") is None


async def test_deleting_a_contact_erases_it_but_keeps_its_suppressions(
    audience: AudienceBackend,
) -> None:
    await audience.contacts.upsert(ORG, [FULL])
    await audience.suppressions.add(
        ORG, [Suppression(user_id="u-1"), Suppression(address="ann@example.com")]
    )

    deleted = await audience.contacts.delete(ORG, "u-1")
    again = await audience.contacts.delete(ORG, "u-1")

    assert (deleted, again) == (True, False)
    assert await audience.contacts.get(ORG, "u-1") is None
    entries, _ = await audience.suppressions.list(ORG)
    assert len(entries) == 2
    await audience.contacts.upsert(ORG, [FULL])  # re-imported: still suppressed everywhere
    assert await audience.suppressions.suppressed_channels(ORG, [FULL]) == {"u-1": None}


SEGMENT = Segment(
    "seg-pro",
    "Pro users",
    (
        cond("plan", "equals", "pro"),
        cond("age", "greater_than", 21.5),
        cond("vip", "equals", True),
        cond("email", "contains", "@example."),
        cond("score", "less_than", 3),
    ),
)


async def test_a_saved_segment_reads_back_with_its_conditions(audience: AudienceBackend) -> None:
    await audience.segments.create(ORG, SEGMENT)

    found = await audience.segments.get(ORG, "seg-pro")

    assert found == Segment(SEGMENT.segment_id, SEGMENT.name, SEGMENT.conditions, T0)
    assert found is not None
    assert [type(c.value) for c in found.conditions] == [str, float, bool, str, int]


async def test_creating_a_segment_id_again_changes_nothing(
    audience: AudienceBackend,
) -> None:
    assert await audience.segments.create(ORG, SEGMENT) is True
    audience.clock.advance(timedelta(days=1))
    renamed = Segment("seg-pro", "Renamed", (cond("plan", "equals", "max"),))

    assert await audience.segments.create(ORG, renamed) is False

    assert await audience.segments.get(ORG, "seg-pro") == Segment(
        "seg-pro", SEGMENT.name, SEGMENT.conditions, T0
    )


async def test_segments_are_listed_by_id_and_deleted(audience: AudienceBackend) -> None:
    for segment_id in ("seg-b", "seg-A", "seg-a", "seg-_"):
        await audience.segments.create(ORG, Segment(segment_id, segment_id.upper(), ()))

    listed = [s.segment_id for s in await audience.segments.list(ORG)]
    deleted, again = (
        await audience.segments.delete(ORG, "seg-a"),
        await audience.segments.delete(ORG, "seg-a"),
    )

    assert listed == ["seg-A", "seg-_", "seg-a", "seg-b"]  # code point order
    assert (deleted, again) == (True, False)
    assert await audience.segments.get(ORG, "seg-a") is None
    assert [s.segment_id for s in await audience.segments.list(ORG)] == ["seg-A", "seg-_", "seg-b"]


async def test_segments_are_listed_in_keyset_pages(audience: AudienceBackend) -> None:
    for segment_id in ("seg-b", "seg-A", "seg-a", "seg-_", "seg-c"):
        await audience.segments.create(ORG, Segment(segment_id, segment_id.upper(), ()))

    async def page(after: str, limit: int) -> list[str]:
        return [s.segment_id for s in await audience.segments.list(ORG, after=after, limit=limit)]

    assert await page("", 2) == ["seg-A", "seg-_"]
    assert await page("seg-_", 2) == ["seg-a", "seg-b"]
    assert await page("seg-b", 2) == ["seg-c"]
    assert await page("seg-c", 2) == []
    assert await page("seg-B", 1) == ["seg-_"]  # a position between ids: the next one
    assert await page("", 0) == []


async def test_segments_are_scoped_by_organization(audience: AudienceBackend) -> None:
    await audience.segments.create(ORG, SEGMENT)

    assert await audience.segments.get(OTHER_ORG, "seg-pro") is None
    assert await audience.segments.list(OTHER_ORG) == []
    assert await audience.segments.delete(OTHER_ORG, "seg-pro") is False
    assert await audience.segments.get(ORG, "seg-pro") is not None


async def test_profile_fields_are_the_own_fields_and_every_attribute_name_upserted(
    audience: AudienceBackend,
) -> None:
    own = {"user_id", "email", "phone", "timezone", "locale", "unsubscribe_url"}
    assert await audience.source.profile_fields(ORG) is None  # nothing to tell a typo by
    await audience.contacts.upsert(ORG, [contact("z")])
    assert await audience.source.profile_fields(ORG) is None  # still no attribute seen

    await audience.contacts.upsert(ORG, [contact("a", attributes={"plan": "pro", "age": 3})])
    await audience.contacts.upsert(ORG, [contact("b", attributes={"first_name": "Ann"})])
    await audience.contacts.upsert(OTHER_ORG, [contact("c", attributes={"secret": 1})])
    await audience.contacts.delete(ORG, "b")  # a name stays known once seen

    assert await audience.source.profile_fields(ORG) == own | {"plan", "age", "first_name"}
    assert await audience.source.profile_fields(OTHER_ORG) == own | {"secret"}
