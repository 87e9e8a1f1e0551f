"""The cross-campaign marketing frequency cap (issue #12 item 4), on SQLite and Postgres.

With a cap of one message per user per 24 h, a second campaign's run suppresses every user the
first one reached, with the cap as the reason, and counts them; a transactional message neither
counts nor is held back; once the window has passed, users can be reached again.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from domain.execution.frequency_cap import MarketingCap, MarketingCaps
from domain.execution.model import TRANSACTIONAL_EXECUTION, Message, MessageStatus
from domain.kernel.channels import Channel
from tests.engine.conftest import ORG, EngineRig
from tests.engine.scenario import ExecutionIds, drain, launch, seed, spec, user
from tests.engine.test_message_states import counts, execution_of, messages

CAP = MarketingCap(1, timedelta(hours=24))
REASON = "marketing frequency cap: 1 per 24 h"


def no_holdout():  # type: ignore[no-untyped-def]
    return replace(spec(), holdout_percentage=0)


async def run(engine: EngineRig, caps: MarketingCaps) -> None:
    for _ in range(20):
        worked = await engine.executor("worker", marketing_caps=caps).run_once()
        delivered = await drain(engine)
        engine.clock.advance(timedelta(seconds=2))
        if not worked and not delivered:
            return
    raise AssertionError("still busy")


async def test_a_second_campaign_within_the_window_is_suppressed_by_the_cap(engine: EngineRig):
    caps = MarketingCaps(lambda org: CAP if org == ORG else None)
    await seed(engine, 20)
    receipt = user(1)
    async with engine.store.unit_of_work() as uow:  # what SendTransactional stores
        await uow.messages.add_many(
            [
                Message(
                    message_id="receipt-1",
                    execution_id=TRANSACTIONAL_EXECUTION,
                    campaign_id="receipts",
                    organization_id=ORG,
                    user_id=receipt,
                    variant_id="",
                    channel=Channel.EMAIL,
                    recipient=f"{receipt}@example.test",
                    content={"subject": "receipt"},
                    send_after=engine.clock.now(),
                    queued_at=engine.clock.now(),
                )
            ],
            idempotency_key="order-1",
        )
        await uow.commit()
    ids = ExecutionIds()

    first = await launch(engine, definition=no_holdout(), ids=ids)
    await run(engine, caps)
    reached = {m.user_id for m in await messages(engine, first)}
    assert receipt in reached  # the transactional message did not count
    assert await counts(engine, await execution_of(engine, first)) == {
        MessageStatus.DELIVERED: len(reached)
    }

    second = await launch(engine, definition=no_holdout(), ids=ids)
    await run(engine, caps)
    held_back = await messages(engine, second)
    assert {m.user_id for m in held_back} == reached
    assert {(m.status, m.error) for m in held_back} == {(MessageStatus.SUPPRESSED, REASON)}
    run2 = await execution_of(engine, second)
    assert await counts(engine, run2) == {MessageStatus.SUPPRESSED: len(reached)}
    assert run2.counts.suppressed == len(reached)
    assert run2.counts.queued == 0

    engine.clock.advance(timedelta(hours=24))
    third = await launch(engine, definition=no_holdout(), ids=ids)
    await run(engine, caps)
    assert await counts(engine, await execution_of(engine, third)) == {
        MessageStatus.DELIVERED: len(reached)
    }


async def test_without_a_cap_nothing_is_held_back(engine: EngineRig):
    await seed(engine, 10)
    ids = ExecutionIds()
    caps = MarketingCaps()  # the default: no organization has a cap
    for _ in range(2):
        campaign = await launch(engine, definition=no_holdout(), ids=ids)
        await run(engine, caps)
        statuses = {m.status for m in await messages(engine, campaign)}
        assert statuses == {MessageStatus.DELIVERED}
