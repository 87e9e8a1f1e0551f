"""Turning due schedules into executions: each firing exactly once, whatever the replica count.

Due campaigns are read with row locks that other replicas skip, and each firing is keyed by
(campaign, due_at), so two schedulers ticking together split the work and can never both start
the same firing. A firing that was due while the service was down starts once, flagged
`missed_firing`; a recurring campaign then continues with its next firing after now, so a long
outage does not replay every missed occurrence.
"""

from __future__ import annotations

from datetime import timedelta

from domain.campaigns.store import save_campaign
from domain.execution.model import Execution, ExecutionStatus
from domain.execution.ports import ExecutionUnitOfWorkFactory
from domain.kernel.ports import Clock, IdGenerator

MISSED_AFTER = timedelta(seconds=60)
DEFAULT_LIMIT = 50


async def fire_due(
    uow: ExecutionUnitOfWorkFactory, clock: Clock, ids: IdGenerator, *, limit: int = DEFAULT_LIMIT
) -> int:
    """Start every due firing (up to `limit`); returns how many executions were created."""
    now = clock.now()
    started = 0
    async with uow() as work:
        for campaign in await work.campaigns.due(now, limit):
            due_at = campaign.next_run_at or now
            execution = Execution(
                execution_id=ids.new_id(),
                campaign_id=campaign.campaign_id,
                organization_id=campaign.organization_id,
                status=ExecutionStatus.PENDING,
                trigger="cron" if campaign.schedule and campaign.schedule.cron else "schedule",
                due_at=due_at,
                created_at=now,
                missed_firing=now - due_at > MISSED_AFTER,
            )
            if not await work.executions.add(execution):
                continue  # this firing already has its execution
            campaign.start_execution(at=now)
            await save_campaign(work, campaign, ids, clock)
            started += 1
        await work.commit()
    return started
