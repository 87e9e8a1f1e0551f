"""Conversions on a real run (SQLite and Postgres): the executor records its holdout members
with their batches, exactly once through a crash and a resume; then an order from a recipient
converts the message it was sent, and one from a holdout member is counted as a holdout
conversion (domain.events.conversions, docs/conversions.md); erasing either user keeps those rows
under the pseudonym."""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import replace
from datetime import timedelta

from sqlalchemy import select

from adapters.sql.events.tables import conversions
from adapters.sql.execution.tables import holdout_members
from adapters.system import UuidGenerator
from domain.audience.contacts import Contact
from domain.campaigns.model import Conversion
from domain.events.conversions import ConversionHandler
from domain.events.intake import EventIntake
from domain.events.model import InboundEvent, Outcome
from domain.execution.executor import DEFAULT_RETRIES
from domain.execution.model import MessageStatus
from domain.metrics.model import Breakdown
from tests.engine.conftest import ORG, EngineRig
from tests.engine.lifecycle_support import PSEUDONYMS, take
from tests.engine.scenario import (
    HOLDOUT_BP,
    SUPPRESSED_ALL,
    FailingAudience,
    expected_recipients,
    launch,
    run_until_idle,
    seed,
    spec,
)

SIZE = 1_200  # three batches of 500 after filtering


def expected_holdout(contacts: list[Contact], campaign_id: str) -> set[str]:
    """Oslo, not suppressed everywhere, inside the 5 % holdout (consent is looked at later)."""
    out = set()
    for c in contacts:
        if c.attributes["city"] != "Oslo" or c.user_id in SUPPRESSED_ALL:
            continue
        digest = hashlib.md5(f"{c.user_id}:{campaign_id}".encode()).hexdigest()
        if int(digest, 16) % 10_000 < HOLDOUT_BP:
            out.add(c.user_id)
    return out


async def rows(engine: EngineRig, statement):  # type: ignore[no-untyped-def]
    async with engine.store.engine.connect() as connection:
        return (await connection.execute(statement)).all()


async def test_holdout_is_recorded_once_and_conversions_credit_messages_and_holdout(
    engine: EngineRig,
) -> None:
    contacts = await seed(engine, SIZE)
    campaign = await launch(
        engine, definition=replace(spec(), conversion=Conversion("order.completed"))
    )
    crashing = engine.executor("a", audience=FailingAudience(engine.audience, fail_at=2))
    assert await crashing.run_once()  # the first batch committed, the second crashed
    engine.clock.advance(DEFAULT_RETRIES.delay(1))
    await run_until_idle(engine, "b")

    held = await rows(
        engine,
        select(holdout_members.c.user_id, holdout_members.c.organization_id).where(
            holdout_members.c.campaign_id == campaign.campaign_id
        ),
    )
    per_user = Counter(user_id for user_id, _ in held)
    assert set(per_user) == expected_holdout(contacts, campaign.campaign_id)
    assert max(per_user.values()) == 1
    assert {org for _, org in held} == {ORG}

    intake = EventIntake(
        engine.store.unit_of_work, [ConversionHandler(UuidGenerator(), engine.clock)], engine.clock
    )
    engine.clock.advance(timedelta(hours=1))
    at = engine.clock.now() - timedelta(minutes=5)
    recipient = min(expected_recipients(contacts, campaign.campaign_id))
    member = min(per_user)

    def order(event_id: str, user_id: str, value: float) -> InboundEvent:
        properties = {"value": value}
        return InboundEvent(ORG, event_id, "order.completed", at, user_id, properties)

    taken = [
        await intake.take(order("o-1", recipient, 50.0)),
        await intake.take(order("o-2", member, 20.0)),
        await intake.take(order("o-1", recipient, 50.0)),
    ]

    assert [t.outcome for t in taken] == [Outcome.ACCEPTED, Outcome.ACCEPTED, Outcome.DUPLICATE]
    async with engine.store.unit_of_work(read_only=True) as uow:
        [message], _ = await uow.messages.list(ORG, campaign.campaign_id, user_id=recipient)
    assert (message.status, message.converted_at) == (MessageStatus.CONVERTED, at)
    credits = await rows(
        engine,
        select(
            conversions.c.user_id,
            conversions.c.message_id,
            conversions.c.holdout,
            conversions.c.value_share,
        ).order_by(conversions.c.event_id),
    )
    assert [tuple(r) for r in credits] == [
        (recipient, message.message_id, False, 50.0),
        (member, "", True, 20.0),
    ]
    [(converted_at,)] = await rows(
        engine,
        select(holdout_members.c.converted_at).where(holdout_members.c.user_id == member),
    )
    assert converted_at == at
    # The counters (docs/metrics.md): the message's value in its own segment, the member's
    # conversion beside the holdout, each held-out recipient once through the crash.
    async with engine.store.unit_of_work(read_only=True) as uow:
        counted = await uow.metrics.read(ORG, campaign.campaign_id, None, [Breakdown.SEGMENT])
    t = counted.totals
    assert (t.converted, t.conversion_value, t.holdout_converted) == (1, 50.0, 1)
    assert t.holdout == len(per_user)
    segments = {row.key: row.totals for row in counted.rows}
    assert segments[campaign.spec.audiences[0].audience_id].conversion_value == 50.0
    assert segments[""].holdout_converted == 1

    # An erased user's conversions and holdout memberships keep their counts under the pseudonym.
    for n, user_id in enumerate((recipient, member)):
        assert (await take(engine, f"del-{n}", "user.deleted", user_id=user_id)).outcome is (
            Outcome.ACCEPTED
        )
    pseudonyms = {PSEUDONYMS.user(ORG, recipient), PSEUDONYMS.user(ORG, member)}
    credited = await rows(engine, select(conversions.c.user_id))
    assert {user_id for (user_id,) in credited} == pseudonyms
    members = await rows(engine, select(holdout_members.c.user_id))
    assert PSEUDONYMS.user(ORG, member) in {user_id for (user_id,) in members}
    assert member not in {user_id for (user_id,) in members}
