"""An audience of 25,000 recipients streamed in batches of 10,000: exactly the right members."""

from __future__ import annotations

import random

from domain.audience.model import Suppression
from domain.kernel.channels import Channel
from tests.contract.audience_conftest import AudienceBackend, batches, cond, contact, include
from tests.contract.builders import ORG

PRO = include(cond("plan", "equals", "pro"))


async def test_a_large_audience_streams_in_full_batches_with_exactly_its_members(
    audience: AudienceBackend,
) -> None:
    numbers = list(range(30_600))
    random.Random(7).shuffle(numbers)  # stored in no particular order
    plan = {n: "free" if n % 6 == 5 else "pro" for n in numbers}  # 25,500 pro
    await audience.contacts.upsert(
        ORG,
        [
            contact(f"u{n:06d}", email=f"u{n}@example.com", attributes={"plan": plan[n]})
            for n in numbers
        ],
    )
    # 500 pro users gone on every channel, 1,000 on email only, and one free user (no effect).
    gone = set(range(0, 6_000, 12))
    await audience.suppressions.add(
        ORG,
        [Suppression(user_id=f"u{n:06d}") for n in gone]
        + [
            Suppression(address=f"u{n}@example.com", channel=Channel.EMAIL)
            for n in range(1, 6_000, 6)
        ]
        + [Suppression(user_id="u000005")],
    )

    found = await batches(audience.source, [PRO], batch_size=10_000)
    counts = await audience.source.counts(ORG, [PRO])

    expected = sorted(f"u{n:06d}" for n in numbers if plan[n] == "pro" and n not in gone)
    assert len(expected) == 25_000
    assert [len(batch) for batch in found] == [10_000, 10_000, 5_000]
    assert [r.contact.user_id for batch in found for r in batch] == expected
    assert sum(r.suppressed_channels == {Channel.EMAIL} for b in found for r in b) == 1_000
    assert (counts.by_segment, counts.after_exclusions) == ((25_500,), 25_500)
    assert counts.after_suppression == 25_000
