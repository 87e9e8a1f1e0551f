"""Messages and runs say what is happening to them (issue #11 items 3, 4, 5).

Held messages (quiet hours, weekends) read DEFERRED until their window ends and reserve no rate
slot meanwhile; at the window's end they get slots through the throttle, spread, not a burst;
rate-limited messages read DEFERRED until their slot. A paused run says PAUSED and resumes
without bursting the slots it missed. A cancelled run's unsent messages are CANCELLED with the
reason and never handed over.

Time is stepped a minute at a time against an organization limit of 60 messages an hour, so
every slot is a minute apart and "sent at the full rate" means one message a minute.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from domain.campaigns.campaign import Campaign
from domain.campaigns.model import QuietHours
from domain.execution.model import Execution, ExecutionStatus, Message, MessageStatus
from domain.execution.throttling import OrganizationLimits
from domain.kernel.channels import Channel
from tests.engine.conftest import ADMIN, ORG, EngineRig
from tests.engine.scenario import drain, expected_recipients, launch, seed
from tests.engine.test_run_events import published

TOKYO = ZoneInfo("Asia/Tokyo")
# T0 + 6 min (the launch) is 12:06 in UTC, inside the allowed hours, and 21:06 in Tokyo,
# inside the default 21:00-08:00 quiet hours.
TOKYO_MORNING = datetime(2026, 6, 4, 8, 0, tzinfo=TOKYO)
MINUTE = timedelta(minutes=1)
PER_HOUR = 60
SLOW = OrganizationLimits(per_hour=PER_HOUR, channel_per_hour=dict.fromkeys(Channel, 3_600_000_000))


async def step(engine: EngineRig) -> int:
    """What the worker loops do in a moment: drive the run once (it hands over what is due
    with its batch), relay what is due; how many messages were handed over."""
    before = engine.delivery.delivered
    await engine.executor("worker", limits=SLOW).run_once()
    await drain(engine)
    return engine.delivery.delivered - before


async def moment(engine: EngineRig) -> int:
    """A step a few seconds on: a run waiting for its messages is looked at every second."""
    engine.clock.advance(timedelta(seconds=2))
    return await step(engine)


async def minutes(engine: EngineRig, count: int) -> list[int]:
    """Messages handed over in each of the next `count` minutes."""
    handed = []
    for _ in range(count):
        engine.clock.advance(MINUTE)
        handed.append(await step(engine))
    return handed


async def messages(engine: EngineRig, campaign: Campaign) -> list[Message]:
    async with engine.store.unit_of_work(read_only=True) as uow:
        page, _ = await uow.messages.list(ORG, campaign.campaign_id, limit=1_000)
    return list(page)


async def execution_of(engine: EngineRig, campaign: Campaign) -> Execution:
    async with engine.store.unit_of_work(read_only=True) as uow:
        [execution], _ = await uow.executions.list(ORG, campaign.campaign_id)
    return execution


async def counts(engine: EngineRig, execution: Execution) -> dict[MessageStatus, int]:
    async with engine.store.unit_of_work(read_only=True) as uow:
        return await uow.messages.status_counts(execution.execution_id)


def handed_over(engine: EngineRig) -> list[str]:
    return [m.user_id for m in engine.delivery.recent]


# --- item 5: held messages -------------------------------------------------------------------


async def test_held_messages_spend_no_slot_so_the_others_go_at_the_full_rate(engine: EngineRig):
    # Every other recipient lives in Tokyo, where it is 21:06: held until 08:00 there.
    contacts = [
        dataclasses.replace(c, timezone="Asia/Tokyo" if n % 2 else "UTC")
        for n, c in enumerate(await seed(engine, 80))
    ]
    await engine.contacts.upsert(ORG, contacts)
    campaign = await launch(engine, quiet=QuietHours())
    recipients = expected_recipients(contacts, campaign.campaign_id)
    zone = {c.user_id: c.timezone for c in contacts}
    in_tokyo = {u for u in recipients if zone[u] == "Asia/Tokyo"}
    in_utc = recipients - in_tokyo
    assert len(in_tokyo) > 10
    assert len(in_utc) > 10
    start = engine.clock.now()

    handed = [await step(engine)] + await minutes(engine, len(in_utc) - 1)

    # One a minute from the start, every recipient who may be sent to now, none of the others.
    assert handed == [1] * len(in_utc)
    assert set(handed_over(engine)) == in_utc
    found = await messages(engine, campaign)
    slots = sorted(m.send_after for m in found if m.user_id in in_utc)
    assert slots == [start + i * MINUTE for i in range(len(in_utc))]
    held = [m for m in found if m.user_id in in_tokyo]
    assert {(m.status, m.send_after) for m in held} == {
        (MessageStatus.DEFERRED, TOKYO_MORNING.astimezone(UTC))
    }
    execution = await execution_of(engine, campaign)
    assert await counts(engine, execution) == {
        MessageStatus.DELIVERED: len(in_utc),  # the sandbox reports delivery at once
        MessageStatus.DEFERRED: len(in_tokyo),
    }
    assert execution.status is ExecutionStatus.RUNNING


async def test_held_messages_read_deferred_and_are_released_through_the_throttle(
    engine: EngineRig,
):
    await seed(engine, 60, timezone="Asia/Tokyo")
    campaign = await launch(engine, quiet=QuietHours())

    assert await step(engine) == 0
    held = await messages(engine, campaign)
    assert held
    assert {(m.status, m.send_after) for m in held} == {
        (MessageStatus.DEFERRED, TOKYO_MORNING.astimezone(UTC))
    }
    execution = await execution_of(engine, campaign)
    assert await counts(engine, execution) == {MessageStatus.DEFERRED: len(held)}

    # The window ends: one message a minute from 08:00, not all of them at once.
    engine.clock.current = TOKYO_MORNING.astimezone(UTC)
    handed = [await step(engine)] + await minutes(engine, len(held) - 1)

    assert handed == [1] * len(held)
    sent = sorted(m.send_after for m in engine.delivery.recent)
    assert sent == [TOKYO_MORNING.astimezone(UTC) + i * MINUTE for i in range(len(held))]
    assert await moment(engine) == 0
    assert (await execution_of(engine, campaign)).status is ExecutionStatus.COMPLETED


async def test_a_released_message_whose_slot_falls_in_the_night_waits_for_the_next_morning(
    engine: EngineRig,
):
    # Quiet from 08:10 to 08:00: ten minutes a day may be sent in, ten messages at 60 an hour.
    await seed(engine, 40, timezone="Asia/Tokyo")
    quiet = QuietHours(start=time(8, 10), end=time(8, 0))
    campaign = await launch(engine, quiet=quiet)
    await step(engine)
    held = await messages(engine, campaign)
    assert len(held) > 10

    engine.clock.current = TOKYO_MORNING.astimezone(UTC)
    first_day = [await step(engine)] + await minutes(engine, 30)

    assert sum(first_day) == 10
    assert all(
        time(8, 0) <= m.send_after.astimezone(TOKYO).time() < time(8, 10)
        for m in engine.delivery.recent
    )
    waiting = [m for m in await messages(engine, campaign) if m.status is MessageStatus.DEFERRED]
    assert len(waiting) == len(held) - 10
    next_morning = TOKYO_MORNING + timedelta(days=1)
    assert {m.send_after for m in waiting} == {next_morning.astimezone(UTC)}

    engine.clock.current = next_morning.astimezone(UTC)
    second_day = [await step(engine)] + await minutes(engine, 12)
    assert second_day == [1] * 10 + [0] * 3


# --- item 5: rate-limited messages -----------------------------------------------------------


async def test_rate_limited_messages_read_deferred_with_their_slot(engine: EngineRig):
    await seed(engine, 30)
    campaign = await launch(engine)
    start = engine.clock.now()

    assert await step(engine) == 1  # the first slot is now: handed over with its batch

    found = sorted(await messages(engine, campaign), key=lambda m: m.send_after)
    assert found[0].status is MessageStatus.DELIVERED
    assert [(m.status, m.send_after) for m in found[1:]] == [
        (MessageStatus.DEFERRED, start + i * MINUTE) for i in range(1, len(found))
    ]
    execution = await execution_of(engine, campaign)
    assert await counts(engine, execution) == {
        MessageStatus.DELIVERED: 1,
        MessageStatus.DEFERRED: len(found) - 1,
    }


# --- item 4: pause and resume ----------------------------------------------------------------


async def test_a_paused_run_says_paused_reports_what_it_sent_and_resumes_without_a_burst(
    engine: EngineRig,
):
    await seed(engine, 60)
    campaign = await launch(engine)
    sent = [await step(engine)] + await minutes(engine, 9)
    assert sent == [1] * 10
    assert (await execution_of(engine, campaign)).status is ExecutionStatus.RUNNING

    await engine.campaigns.pause_campaign(ADMIN, campaign.campaign_id)
    assert await moment(engine) == 0

    assert (await execution_of(engine, campaign)).status is ExecutionStatus.PAUSED
    [paused] = (await published(engine))["campaign.paused"]
    assert paused["messages_sent"] == 10

    # Ten hours later: every remaining slot has passed while the run was paused.
    engine.clock.advance(timedelta(hours=10))
    assert await minutes(engine, 3) == [0, 0, 0]  # nothing goes out while paused
    await engine.campaigns.resume_campaign(ADMIN, campaign.campaign_id)
    assert await drain(engine) == 0  # the relay waits for the run to take up its slots again

    resumed = [await step(engine)] + await minutes(engine, 4)

    assert resumed == [1] * 5  # one a minute again, not the missed slots at once
    assert (await execution_of(engine, campaign)).status is ExecutionStatus.RUNNING
    total = len(await messages(engine, campaign))
    rest = await minutes(engine, total - 15 + 2)
    assert rest == [1] * (total - 15) + [0, 0]
    assert len(engine.delivery.recent) == len(set(handed_over(engine))) == total
    assert (await execution_of(engine, campaign)).status is ExecutionStatus.COMPLETED


# --- item 3: cancel --------------------------------------------------------------------------


async def test_cancelling_during_quiet_hours_cancels_the_held_messages_with_the_reason(
    engine: EngineRig,
):
    await seed(engine, 60, timezone="Asia/Tokyo")
    campaign = await launch(engine, quiet=QuietHours())
    await step(engine)
    held = await messages(engine, campaign)
    assert held

    await engine.campaigns.cancel_campaign(ADMIN, campaign.campaign_id, "wrong offer")
    await moment(engine)

    execution = await execution_of(engine, campaign)
    assert execution.status is ExecutionStatus.CANCELLED
    found = await messages(engine, campaign)
    assert {(m.status, m.error) for m in found} == {
        (MessageStatus.CANCELLED, "campaign cancelled before this message was sent: wrong offer")
    }
    assert await counts(engine, execution) == {MessageStatus.CANCELLED: len(held)}

    engine.clock.current = TOKYO_MORNING.astimezone(UTC)
    assert await minutes(engine, 3) == [0, 0, 0]
    assert handed_over(engine) == []


async def test_cancelling_a_rate_limited_run_cancels_what_was_not_sent_yet(engine: EngineRig):
    await seed(engine, 30)
    campaign = await launch(engine)
    assert [await step(engine)] + await minutes(engine, 2) == [1, 1, 1]

    await engine.campaigns.cancel_campaign(ADMIN, campaign.campaign_id, "")
    await moment(engine)

    execution = await execution_of(engine, campaign)
    found = await messages(engine, campaign)
    assert execution.status is ExecutionStatus.CANCELLED
    assert await counts(engine, execution) == {
        MessageStatus.DELIVERED: 3,
        MessageStatus.CANCELLED: len(found) - 3,
    }
    assert {m.error for m in found if m.status is MessageStatus.CANCELLED} == {
        "campaign cancelled before this message was sent"
    }
    assert await minutes(engine, 30) == [0] * 30
    assert len(handed_over(engine)) == 3
