"""A run that cannot succeed fails with its reason; a limiter outage only defers the run."""

from __future__ import annotations

from collections.abc import Sequence

from domain.campaigns.model import CampaignStatus
from domain.execution.executor import DEFAULT_RETRIES
from domain.execution.model import ExecutionStatus
from domain.execution.throttling import Limit, Reservation
from domain.kernel.errors import DependencyUnavailableError
from tests.engine.conftest import ADMIN, ORG, EngineRig
from tests.engine.scenario import (
    DownUpstream,
    all_messages,
    expected_recipients,
    launch,
    run_until_idle,
    seed,
)


class DownLimiter:
    def __init__(self) -> None:
        self.calls = 0

    async def reserve(self, limits: Sequence[Limit], count: int, now) -> Reservation:  # type: ignore[no-untyped-def]
        self.calls += 1
        raise DependencyUnavailableError("redis unreachable")


async def test_an_unreachable_data_service_fails_the_execution_with_the_reason(engine: EngineRig):
    await seed(engine, 300)
    campaign = await launch(engine)

    await engine.executor("a", audience=DownUpstream(engine.audience, 0)).run_once()

    async with engine.store.unit_of_work(read_only=True) as uow:
        [execution], _ = await uow.executions.list(ORG, campaign.campaign_id)
    assert execution.status is ExecutionStatus.FAILED
    assert "UPSTREAM_FAILED" in execution.failure_reason
    assert "connection refused" in execution.failure_reason
    assert await all_messages(engine, campaign.campaign_id) == []
    final = await engine.campaigns.get_campaign(ADMIN, campaign.campaign_id)
    assert final.status is CampaignStatus.COMPLETED  # a one-time run is over, if failed


async def test_a_limiter_outage_defers_sending_and_loses_nothing(engine: EngineRig):
    contacts = await seed(engine, 1_200)
    campaign = await launch(engine)
    down = DownLimiter()

    for attempt in range(1, 4):  # each failed attempt waits longer before the next
        assert await engine.executor("a", limiter=down).run_once()
        assert not await engine.executor("a", limiter=down).run_once()  # backing off
        engine.clock.advance(DEFAULT_RETRIES.delay(attempt))
    assert down.calls == 3
    assert await all_messages(engine, campaign.campaign_id) == []  # nothing sent unthrottled
    async with engine.store.unit_of_work(read_only=True) as uow:
        [execution], _ = await uow.executions.list(ORG, campaign.campaign_id)
    assert execution.status is ExecutionStatus.RUNNING  # an outage never fails the run
    assert execution.attempts == 3
    assert "redis unreachable" in execution.last_error

    await run_until_idle(engine, "a")  # the limiter is back

    sent = await all_messages(engine, campaign.campaign_id)
    assert {u for u, _ in sent} == expected_recipients(contacts, campaign.campaign_id)
    assert len(sent) == len({u for u, _ in sent})
