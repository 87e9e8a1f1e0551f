"""The embedded sandbox reports delivery through the event intake, as the notification service
would: its messages are handed over `sent`, then reported delivered (one intake batch per hand-over
batch), announced, counted, and `campaign.completed` totals them; a report taken twice is a
duplicate. Direct hand-over and the relay alike."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from adapters.embedded.sandbox_delivery import delivery_report
from adapters.sql.events.tables import inbound_events
from adapters.system import UuidGenerator
from domain.events.feedback import FeedbackHandler
from domain.events.intake import EventIntake
from domain.events.model import Outcome
from domain.execution.model import Message, MessageStatus
from tests.engine.conftest import ORG, EngineRig
from tests.engine.scenario import drain, expected_recipients, launch, seed
from tests.engine.test_run_events import published


async def messages_of(engine: EngineRig, campaign_id: str) -> list[Message]:
    out: list[Message] = []
    after = ""
    while True:
        async with engine.store.unit_of_work(read_only=True) as uow:
            page, after = await uow.messages.list(ORG, campaign_id, after=after, limit=500)
        out += page
        if not after:
            return out


async def run(engine: EngineRig, *, direct: bool) -> None:
    for _ in range(50):
        worked = await engine.executor("w", direct=direct, batch_size=200).run_once()
        handed = await drain(engine)
        engine.clock.advance(timedelta(seconds=2))
        if not worked and not handed:
            return
    raise AssertionError("still busy")


@pytest.mark.parametrize("direct", [True, False], ids=["direct", "relay"])
async def test_sandbox_messages_end_delivered_through_the_intake_and_are_counted(
    engine: EngineRig, direct: bool
) -> None:
    contacts = await seed(engine, 700)
    campaign = await launch(engine)

    await run(engine, direct=direct)

    recipients = expected_recipients(contacts, campaign.campaign_id)
    found = await messages_of(engine, campaign.campaign_id)
    assert {m.user_id for m in found} == recipients
    assert Counter(m.status for m in found) == {MessageStatus.DELIVERED: len(recipients)}
    assert all(m.sent_at is not None and m.delivered_at is not None for m in found)
    assert all(m.sent_at <= m.delivered_at for m in found)  # type: ignore[operator]
    events = await published(engine)
    delivered = events["campaign.message.delivered"]
    assert sorted(e["message_id"] for e in delivered) == sorted(m.message_id for m in found)
    [completed] = events["campaign.completed"]
    assert completed["total_sent"] == completed["total_delivered"] == len(recipients)
    async with engine.store.engine.connect() as connection:
        ledger = (await connection.execute(select(func.count()).select_from(inbound_events))).one()
    assert ledger[0] == len(recipients)  # one report per message, each recorded once


async def test_a_sandbox_report_taken_again_is_a_duplicate(engine: EngineRig) -> None:
    await seed(engine, 100)
    campaign = await launch(engine)
    await run(engine, direct=True)
    found = await messages_of(engine, campaign.campaign_id)
    intake = EventIntake(
        engine.store.unit_of_work, [FeedbackHandler(UuidGenerator(), engine.clock)], engine.clock
    )

    taken = await intake.take_batch([delivery_report(m, engine.clock) for m in found])

    assert {t.outcome for t in taken} == {Outcome.DUPLICATE}
    assert await messages_of(engine, campaign.campaign_id) == found
