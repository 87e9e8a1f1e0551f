"""SuppressionStore contract: add once, remove by target and channel, list and page, and which
channels an entry suppresses for a contact."""

from __future__ import annotations

from datetime import timedelta

import pytest

from domain.audience.contacts import Contact
from domain.audience.model import Suppression, SuppressionReason
from domain.kernel.channels import Channel
from domain.kernel.errors import InvalidArgumentError
from tests.contract.audience_conftest import AudienceBackend, batches, everyone, member_ids
from tests.contract.builders import ORG, OTHER_ORG, T0

ANN = Contact("u-ann", email="ann@example.com", phone="+14155550100")
BOB = Contact("u-bob", email="bob@example.com", phone="+14155550111")
NOBODY = Contact("u-none")


async def test_adding_counts_only_new_entries(audience: AudienceBackend) -> None:
    first = await audience.suppressions.add(
        ORG, [Suppression(user_id="u-ann"), Suppression(address="bob@example.com")]
    )
    audience.clock.advance(timedelta(hours=1))

    second = await audience.suppressions.add(
        ORG,
        [
            Suppression(user_id="u-ann", reason=SuppressionReason.BOUNCED),  # present
            Suppression(user_id="u-ann", channel=Channel.EMAIL),  # another channel: new
            Suppression(address="+14155550100", reason=SuppressionReason.COMPLAINED),
            Suppression(address="+14155550100"),  # a duplicate within the batch
        ],
    )

    assert (first, second) == (2, 2)
    entries, _ = await audience.suppressions.list(ORG)
    assert set(entries) == {
        Suppression(user_id="u-ann", created_at=T0),  # kept its reason and created_at
        Suppression(address="bob@example.com", created_at=T0),
        Suppression(user_id="u-ann", channel=Channel.EMAIL, created_at=T0 + timedelta(hours=1)),
        Suppression(
            address="+14155550100",
            reason=SuppressionReason.COMPLAINED,  # the first of the duplicates
            created_at=T0 + timedelta(hours=1),
        ),
    }


async def test_an_entry_must_name_exactly_one_target(audience: AudienceBackend) -> None:
    with pytest.raises(ValueError, match="exactly one"):
        await audience.suppressions.add(ORG, [Suppression()])
    with pytest.raises(ValueError, match="exactly one"):
        await audience.suppressions.add(ORG, [Suppression(user_id="u", address="a@b.co")])


async def test_removing_matches_target_and_channel_and_ignores_reason(
    audience: AudienceBackend,
) -> None:
    await audience.suppressions.add(
        ORG,
        [
            Suppression(user_id="u-ann"),
            Suppression(user_id="u-ann", channel=Channel.SMS),
            Suppression(address="u-ann"),  # an address that happens to look like the id
        ],
    )

    removed = await audience.suppressions.remove(
        ORG,
        [
            Suppression(user_id="u-ann", channel=Channel.SMS, reason=SuppressionReason.BOUNCED),
            Suppression(user_id="u-ann", channel=Channel.EMAIL),  # absent
            Suppression(user_id="u-ann", channel=Channel.SMS),  # the same again
        ],
    )

    assert removed == 1
    entries, _ = await audience.suppressions.list(ORG)
    assert {(e.user_id, e.address, e.channel) for e in entries} == {
        ("u-ann", "", None),
        ("", "u-ann", None),
    }


async def test_suppressions_are_scoped_by_organization(audience: AudienceBackend) -> None:
    await audience.suppressions.add(ORG, [Suppression(user_id="u-ann")])

    assert await audience.suppressions.add(OTHER_ORG, [Suppression(user_id="u-ann")]) == 1
    assert await audience.suppressions.remove(OTHER_ORG, [Suppression(user_id="u-ann")]) == 1
    assert await audience.suppressions.list(OTHER_ORG) == ([], "")
    assert await audience.suppressions.suppressed_channels(OTHER_ORG, [ANN]) == {}
    assert await audience.suppressions.suppressed_channels(ORG, [ANN]) == {"u-ann": None}


async def _fill(audience: AudienceBackend) -> None:
    reasons = list(SuppressionReason)
    entries = []
    for n in range(12):
        channel = [None, Channel.EMAIL, Channel.SMS][n % 3]
        entries.append(Suppression(user_id=f"u-{n:02d}", channel=channel, reason=reasons[n % 4]))
        entries.append(Suppression(address=f"a{n:02d}@example.com", channel=channel))
    await audience.suppressions.add(ORG, entries)


def _label(entry: Suppression) -> str:
    return f"{entry.user_id or entry.address}/{entry.channel or '*'}"


async def test_a_list_pages_through_every_entry_once_in_key_order(
    audience: AudienceBackend,
) -> None:
    await _fill(audience)

    seen: list[str] = []
    cursor, pages = "", 0
    while True:
        page, cursor = await audience.suppressions.list(ORG, after=cursor, limit=5)
        seen += [_label(e) for e in page]
        pages += 1
        if not cursor:
            break

    assert pages == 5  # 24 entries, 5 a page; the last page says it is the last
    assert len(seen) == len(set(seen)) == 24
    assert seen[:2] == ["a00@example.com/*", "a01@example.com/email"]  # addresses, then users
    assert seen[-1] == "u-11/sms"


async def test_a_full_last_page_has_no_next_cursor(audience: AudienceBackend) -> None:
    await _fill(audience)

    first, cursor = await audience.suppressions.list(ORG, limit=12)
    second, last = await audience.suppressions.list(ORG, after=cursor, limit=12)

    assert (len(first), len(second), last) == (12, 12, "")


async def test_a_list_filters_by_exact_channel_and_by_reason(audience: AudienceBackend) -> None:
    await _fill(audience)

    emails, _ = await audience.suppressions.list(ORG, channel=Channel.EMAIL, limit=100)
    bounced, _ = await audience.suppressions.list(ORG, reason=SuppressionReason.BOUNCED)
    both, _ = await audience.suppressions.list(
        ORG, channel=Channel.SMS, reason=SuppressionReason.BOUNCED
    )
    paged, cursor = await audience.suppressions.list(ORG, channel=Channel.EMAIL, limit=3)
    rest, _ = await audience.suppressions.list(ORG, channel=Channel.EMAIL, after=cursor)

    assert {e.channel for e in emails} == {Channel.EMAIL}  # not the every-channel entries
    assert len(emails) == 8
    assert [_label(e) for e in bounced] == ["u-01/email", "u-05/sms", "u-09/*"]
    assert [_label(e) for e in both] == ["u-05/sms"]
    assert [_label(e) for e in [*paged, *rest]] == [_label(e) for e in emails]


async def test_a_cursor_not_issued_by_the_store_is_an_invalid_argument(
    audience: AudienceBackend,
) -> None:
    with pytest.raises(InvalidArgumentError):
        await audience.suppressions.list(ORG, after="not a cursor")


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        (Suppression(user_id="u-ann"), None),
        (Suppression(user_id="u-ann", channel=Channel.WEBHOOK), frozenset({Channel.WEBHOOK})),
        (Suppression(address="ann@example.com"), None),
        (Suppression(address="ann@example.com", channel=Channel.EMAIL), {Channel.EMAIL}),
        (Suppression(address="ann@example.com", channel=Channel.SMS), frozenset()),
        (Suppression(address="+14155550100"), None),
        (Suppression(address="+14155550100", channel=Channel.SMS), {Channel.SMS}),
        (Suppression(address="+14155550100", channel=Channel.WHATSAPP), {Channel.WHATSAPP}),
        (Suppression(address="+14155550100", channel=Channel.EMAIL), frozenset()),
        (Suppression(address="+14155550100", channel=Channel.IN_APP), frozenset()),
        (Suppression(address="u-ann"), frozenset()),  # an address is never a user id
    ],
    ids=lambda value: _label(value) if isinstance(value, Suppression) else None,
)
async def test_an_entry_suppresses_the_channels_that_use_its_target(
    audience: AudienceBackend, entry: Suppression, expected: frozenset[Channel] | None
) -> None:
    await audience.suppressions.add(ORG, [entry])

    found = await audience.suppressions.suppressed_channels(ORG, [ANN, BOB, NOBODY])

    assert found == ({} if expected == frozenset() else {"u-ann": expected})


async def test_channels_add_up_and_all_of_them_mean_every_channel(
    audience: AudienceBackend,
) -> None:
    await audience.suppressions.add(
        ORG,
        [
            Suppression(user_id="u-ann", channel=Channel.IN_APP),
            Suppression(address="ann@example.com", channel=Channel.EMAIL),
            Suppression(address="+14155550111", channel=Channel.SMS),
            *(Suppression(user_id="u-bob", channel=c) for c in Channel if c is not Channel.SMS),
        ],
    )

    found = await audience.suppressions.suppressed_channels(ORG, [ANN, BOB, NOBODY])

    assert found == {"u-ann": frozenset({Channel.IN_APP, Channel.EMAIL}), "u-bob": None}


async def test_suppressed_channels_of_many_contacts_in_one_call(
    audience: AudienceBackend,
) -> None:
    people = [Contact(f"u-{n:05d}", email=f"p{n}@example.com") for n in range(2_500)]
    await audience.suppressions.add(
        ORG,
        [
            Suppression(address=f"p{n}@example.com", channel=Channel.EMAIL)
            for n in range(0, 2_500, 7)
        ]
        + [Suppression(user_id=f"u-{n:05d}") for n in range(3, 2_500, 11)],
    )

    found = await audience.suppressions.suppressed_channels(ORG, people)

    expected: dict[str, frozenset[Channel] | None] = {
        f"u-{n:05d}": frozenset({Channel.EMAIL}) for n in range(0, 2_500, 7)
    }
    expected |= {f"u-{n:05d}": None for n in range(3, 2_500, 11)}
    assert found == expected


async def test_email_addresses_are_suppressed_without_regard_to_ascii_case(
    audience: AudienceBackend,
) -> None:
    mixed = Contact("u-mix", email="Ann.Lee@Example.COM", email_opted_in=True)
    lower = Contact("u-low", email="bob@example.com", email_opted_in=True)
    await audience.contacts.upsert(ORG, [mixed, lower])

    added = await audience.suppressions.add(
        ORG,
        [
            Suppression(address="ann.lee@example.com"),
            Suppression(address="BOB@EXAMPLE.com", channel=Channel.EMAIL),
            Suppression(address="Bob@Example.Com", channel=Channel.EMAIL),  # the same entry
        ],
    )

    assert added == 2
    entries, _ = await audience.suppressions.list(ORG)
    assert sorted(e.address for e in entries) == ["ann.lee@example.com", "bob@example.com"]
    assert await audience.suppressions.suppressed_channels(ORG, [mixed, lower]) == {
        "u-mix": None,
        "u-low": frozenset({Channel.EMAIL}),
    }
    found = await batches(audience.source, [everyone()])
    assert [(r.contact.user_id, r.suppressed_channels) for b in found for r in b] == [
        ("u-low", frozenset({Channel.EMAIL}))
    ]
    counts = await audience.source.counts(ORG, [everyone()])
    assert (counts.after_suppression, counts.reachable_by_channel[Channel.EMAIL]) == (1, 0)
    assert await audience.suppressions.remove(ORG, [Suppression(address="ANN.LEE@example.com")])
    assert await member_ids(audience.source, [everyone()]) == ["u-low", "u-mix"]


async def test_non_ascii_letters_are_compared_exactly(audience: AudienceBackend) -> None:
    # Folding stops at ASCII in every adapter (SQL lower() under C rules): no adapter may
    # suppress a different person by a looser rule than the others.
    upper = Contact("u-up", email="ÜNAL@example.com", email_opted_in=True)
    await audience.contacts.upsert(ORG, [upper])
    await audience.suppressions.add(ORG, [Suppression(address="ünal@example.com")])

    assert await member_ids(audience.source, [everyone()]) == ["u-up"]
    await audience.suppressions.add(ORG, [Suppression(address="ÜNAL@EXAMPLE.COM")])
    assert await member_ids(audience.source, [everyone()]) == []


async def test_entries_for_a_contact_are_those_naming_its_user_id_email_or_phone(
    audience: AudienceBackend,
) -> None:
    await audience.suppressions.add(
        ORG,
        [
            Suppression(user_id="u-ann", reason=SuppressionReason.UNSUBSCRIBED),
            Suppression(
                address="ANN@Example.com", channel=Channel.EMAIL, reason=SuppressionReason.BOUNCED
            ),
            Suppression(address="+14155550100", reason=SuppressionReason.COMPLAINED),
            Suppression(user_id="u-bob", reason=SuppressionReason.MANUAL),
            Suppression(address="bob@example.com", reason=SuppressionReason.BOUNCED),
        ],
    )
    await audience.suppressions.add(OTHER_ORG, [Suppression(user_id="u-ann")])

    found = await audience.suppressions.entries_for(ORG, ANN)

    assert sorted((e.user_id, e.address, e.channel, e.reason) for e in found) == sorted(
        [
            ("u-ann", "", None, SuppressionReason.UNSUBSCRIBED),
            ("", "ann@example.com", Channel.EMAIL, SuppressionReason.BOUNCED),
            ("", "+14155550100", None, SuppressionReason.COMPLAINED),
        ]
    )
    assert await audience.suppressions.entries_for(ORG, NOBODY) == []
