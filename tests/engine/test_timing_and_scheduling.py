"""Quiet hours defer messages to the recipient's morning; schedules fire once per firing."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from domain.campaigns.model import CampaignStatus, CronSchedule, QuietHours, Schedule
from domain.execution.model import ExecutionStatus, MessageStatus
from domain.execution.scheduler import fire_due
from tests.engine.conftest import ADMIN, ORG, EngineRig
from tests.engine.scenario import ExecutionIds, drain, launch, run_until_idle, seed, spec

TOKYO = ZoneInfo("Asia/Tokyo")


async def test_quiet_hours_hold_messages_until_the_recipients_morning(engine: EngineRig):
    # T0 + 6 min is 21:06 in Tokyo: inside the default 21:00-08:00 quiet hours there.
    await seed(engine, 200, timezone="Asia/Tokyo")
    campaign = await launch(engine, quiet=QuietHours())

    await engine.executor("a").run_once()
    early = await drain(engine)
    async with engine.store.unit_of_work(read_only=True) as uow:
        page, _ = await uow.messages.list(ORG, campaign.campaign_id, limit=500)
    morning = datetime(2026, 6, 4, 8, 0, tzinfo=TOKYO)

    assert early == 0
    assert page
    assert all(m.send_after.astimezone(TOKYO) >= morning for m in page)
    assert min(m.send_after for m in page).astimezone(TOKYO).time() == time(8, 0)

    assert {m.status for m in page} == {MessageStatus.DEFERRED}

    engine.clock.current = morning.astimezone(UTC)
    assert await drain(engine) == 0  # held messages get their slots from the executor first
    await engine.executor("a").run_once()
    engine.clock.advance(timedelta(seconds=1))  # the slots are a microsecond apart here
    assert await drain(engine) == len(page)


async def test_two_schedulers_ticking_together_start_one_execution(engine: EngineRig):
    campaign = await engine.campaigns.create_campaign(ADMIN, spec())
    due = engine.clock.now() + timedelta(minutes=6)
    await engine.campaigns.schedule_campaign(
        ADMIN, campaign.campaign_id, Schedule(scheduled_at=due)
    )
    engine.clock.advance(timedelta(minutes=6))

    first = await fire_due(engine.store.unit_of_work, engine.clock, ExecutionIds())
    second = await fire_due(engine.store.unit_of_work, engine.clock, _IdsFrom(100))

    assert (first, second) == (1, 0)
    async with engine.store.unit_of_work(read_only=True) as uow:
        found, _ = await uow.executions.list(ORG, campaign.campaign_id)
    assert len(found) == 1


class _IdsFrom(ExecutionIds):
    def __init__(self, start: int) -> None:
        super().__init__()
        self._n = start


async def test_a_cron_campaign_runs_each_firing_once_and_returns_to_scheduled(engine: EngineRig):
    await seed(engine, 100)
    campaign = await engine.campaigns.create_campaign(ADMIN, spec())
    await engine.campaigns.schedule_campaign(
        ADMIN, campaign.campaign_id, Schedule(cron=CronSchedule("0 * * * *", "UTC"))
    )  # hourly, on the hour
    first_due = (await engine.campaigns.get_campaign(ADMIN, campaign.campaign_id)).next_run_at
    assert first_due is not None

    engine.clock.current = first_due
    assert await fire_due(engine.store.unit_of_work, engine.clock, ExecutionIds()) == 1
    await run_until_idle(engine)
    after_first = await engine.campaigns.get_campaign(ADMIN, campaign.campaign_id)

    assert after_first.status is CampaignStatus.SCHEDULED
    assert after_first.next_run_at is not None
    assert after_first.next_run_at > first_due
    assert await fire_due(engine.store.unit_of_work, engine.clock, _IdsFrom(50)) == 0


async def test_a_firing_missed_during_an_outage_runs_once_and_is_flagged(engine: EngineRig):
    await seed(engine, 100)
    campaign = await engine.campaigns.create_campaign(ADMIN, spec())
    await engine.campaigns.schedule_campaign(
        ADMIN, campaign.campaign_id, Schedule(cron=CronSchedule("0 * * * *", "UTC"))
    )
    due = (await engine.campaigns.get_campaign(ADMIN, campaign.campaign_id)).next_run_at
    assert due is not None

    engine.clock.current = due + timedelta(hours=3)  # down for three hours: 3 firings missed
    started = await fire_due(engine.store.unit_of_work, engine.clock, ExecutionIds())
    await run_until_idle(engine)
    again = await fire_due(engine.store.unit_of_work, engine.clock, _IdsFrom(50))

    async with engine.store.unit_of_work(read_only=True) as uow:
        found, _ = await uow.executions.list(ORG, campaign.campaign_id)
    assert (started, again, len(found)) == (1, 0, 1)
    assert found[0].missed_firing is True
    assert found[0].status is ExecutionStatus.COMPLETED
    after = await engine.campaigns.get_campaign(ADMIN, campaign.campaign_id)
    assert after.next_run_at is not None
    assert after.next_run_at > engine.clock.now()  # continues after now, no replay


async def test_executions_are_listed_newest_first_across_pages(engine: EngineRig):
    await seed(engine, 50)
    campaign = await engine.campaigns.create_campaign(ADMIN, spec())
    await engine.campaigns.schedule_campaign(
        ADMIN, campaign.campaign_id, Schedule(cron=CronSchedule("0 * * * *", "UTC"))
    )
    ids = _IdsFrom(0)
    for _ in range(3):  # three hourly firings, each run to completion
        due = (await engine.campaigns.get_campaign(ADMIN, campaign.campaign_id)).next_run_at
        assert due is not None
        engine.clock.current = due
        assert await fire_due(engine.store.unit_of_work, engine.clock, ids) == 1
        await run_until_idle(engine)

    seen, after = [], ""
    while True:
        async with engine.store.unit_of_work(read_only=True) as uow:
            page, after = await uow.executions.list(ORG, campaign.campaign_id, after=after, limit=1)
        seen += page
        if not after:
            break

    assert [e.execution_id for e in seen] == ["exec-3", "exec-2", "exec-1"]
    assert [e.due_at for e in seen] == sorted((e.due_at for e in seen), reverse=True)
