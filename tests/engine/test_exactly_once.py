"""Every eligible recipient gets exactly one message: through crashes, lease takeovers, two
executors at once, and pause/resume; cancel stops the rest."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import timedelta

from domain.campaigns.model import CampaignStatus
from domain.execution.executor import DEFAULT_RETRIES
from domain.execution.model import ExecutionStatus
from tests.engine.conftest import ADMIN, ORG, EngineRig
from tests.engine.scenario import (
    FailingAudience,
    all_messages,
    drain,
    expected_recipients,
    launch,
    run_until_idle,
    seed,
)

SIZE = 2_400  # five batches of 500 after filtering


async def executions_of(engine: EngineRig, campaign_id: str) -> list:
    async with engine.store.unit_of_work(read_only=True) as uow:
        found, _ = await uow.executions.list(ORG, campaign_id)
    return list(found)


def assert_exactly_once(messages: list[tuple[str, str]], expected: set[str]) -> None:
    per_user = Counter(u for u, _ in messages)
    assert set(per_user) == expected
    assert max(per_user.values()) == 1
    assert len({m for _, m in messages}) == len(messages)


async def test_a_run_sends_each_eligible_recipient_one_message_and_completes(engine: EngineRig):
    contacts = await seed(engine, SIZE)
    campaign = await launch(engine)

    await run_until_idle(engine, "a")

    messages = await all_messages(engine, campaign.campaign_id)
    assert_exactly_once(messages, expected_recipients(contacts, campaign.campaign_id))
    [execution] = await executions_of(engine, campaign.campaign_id)
    assert execution.status is ExecutionStatus.COMPLETED
    assert execution.counts.queued == len(messages)
    assert execution.counts.holdout > 0
    final = await engine.campaigns.get_campaign(ADMIN, campaign.campaign_id)
    assert final.status is CampaignStatus.COMPLETED
    assert engine.delivery.delivered == len(messages)


async def test_a_crash_mid_run_resumes_from_the_last_committed_batch(engine: EngineRig):
    contacts = await seed(engine, SIZE)
    campaign = await launch(engine)
    crashing = engine.executor("a", audience=FailingAudience(engine.audience, fail_at=3))

    assert await crashing.run_once()  # the attempt failed; the run waits to be retried
    partial = await all_messages(engine, campaign.campaign_id)
    [failed] = await executions_of(engine, campaign.campaign_id)
    assert failed.status is ExecutionStatus.RUNNING
    assert failed.attempts == 1
    assert "simulated crash" in failed.last_error
    engine.clock.advance(DEFAULT_RETRIES.delay(1))
    await run_until_idle(engine, "b")

    assert 0 < len(partial) < len(expected_recipients(contacts, campaign.campaign_id))
    assert_exactly_once(
        await all_messages(engine, campaign.campaign_id),
        expected_recipients(contacts, campaign.campaign_id),
    )


async def test_a_stale_executor_cannot_commit_after_another_took_its_lease(engine: EngineRig):
    contacts = await seed(engine, SIZE)
    campaign = await launch(engine)
    gate = asyncio.Event()
    reached = asyncio.Event()

    class Stalling(FailingAudience):
        async def recipients(self, *args, **kwargs):  # type: ignore[no-untyped-def]
            n = 0
            async for batch in engine.audience.recipients(*args, **kwargs):
                n += 1
                if n == 2:
                    reached.set()
                    await gate.wait()  # a long GC pause, a frozen VM, a network split
                yield batch

    zombie = asyncio.create_task(
        engine.executor("zombie", audience=Stalling(engine.audience, 0)).run_once()
    )
    await asyncio.wait_for(reached.wait(), 30)
    engine.clock.advance(timedelta(minutes=5))  # the zombie's lease runs out
    await run_until_idle(engine, "healthy")
    gate.set()
    assert await asyncio.wait_for(zombie, 30) is True

    assert_exactly_once(
        await all_messages(engine, campaign.campaign_id),
        expected_recipients(contacts, campaign.campaign_id),
    )


async def test_two_executors_at_once_never_send_twice(engine: EngineRig):
    contacts = await seed(engine, SIZE)
    campaign = await launch(engine)

    async def work(owner: str) -> None:
        for _ in range(30):
            await engine.executor(owner).run_once()
            await drain(engine)
            await asyncio.sleep(0)

    await asyncio.gather(work("one"), work("two"))
    await run_until_idle(engine, "one")

    assert_exactly_once(
        await all_messages(engine, campaign.campaign_id),
        expected_recipients(contacts, campaign.campaign_id),
    )


async def test_pause_stops_at_a_batch_boundary_and_resume_sends_the_rest_once(engine: EngineRig):
    contacts = await seed(engine, SIZE)
    campaign = await launch(engine)
    paused = asyncio.Event()

    class PausingAudience(FailingAudience):
        async def recipients(self, *args, **kwargs):  # type: ignore[no-untyped-def]
            n = 0
            async for batch in engine.audience.recipients(*args, **kwargs):
                n += 1
                if n == 3 and not paused.is_set():
                    await engine.campaigns.pause_campaign(ADMIN, campaign.campaign_id)
                    paused.set()
                yield batch

    await engine.executor("a", audience=PausingAudience(engine.audience, 0)).run_once()
    during_pause = await all_messages(engine, campaign.campaign_id)
    [execution] = await executions_of(engine, campaign.campaign_id)
    assert execution.status is ExecutionStatus.PAUSED
    assert await engine.executor("b").run_once() is False  # nothing runs while paused

    await engine.campaigns.resume_campaign(ADMIN, campaign.campaign_id)
    await run_until_idle(engine, "b")

    expected = expected_recipients(contacts, campaign.campaign_id)
    assert 0 < len(during_pause) < len(expected)
    assert_exactly_once(await all_messages(engine, campaign.campaign_id), expected)


async def test_cancel_mid_run_stops_new_messages_and_holds_queued_ones(engine: EngineRig):
    contacts = await seed(engine, SIZE)
    campaign = await launch(engine)

    class CancellingAudience(FailingAudience):
        async def recipients(self, *args, **kwargs):  # type: ignore[no-untyped-def]
            n = 0
            async for batch in engine.audience.recipients(*args, **kwargs):
                n += 1
                if n == 2:
                    await engine.campaigns.cancel_campaign(ADMIN, campaign.campaign_id, "stop")
                yield batch

    await engine.executor("a", audience=CancellingAudience(engine.audience, 0)).run_once()
    handed_over = await drain(engine)

    messages = await all_messages(engine, campaign.campaign_id)
    [execution] = await executions_of(engine, campaign.campaign_id)
    assert execution.status is ExecutionStatus.CANCELLED
    assert 0 < len(messages) < len(expected_recipients(contacts, campaign.campaign_id))
    assert handed_over == 0  # queued messages of a cancelled campaign are never handed over
