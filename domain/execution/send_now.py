"""SendCampaignNow: an operator starts a one-time campaign's run at once.

Kept apart from scheduling on purpose. ScheduleCampaign asks for a run at a time, and that time
must be at least the scheduling lead ahead (BR-CAM-001.3, five minutes by default) so a schedule
can still be reviewed and withdrawn; sending now is an explicit decision to run immediately, so it
stores no schedule and has no lead. It goes through the same launch checks as ScheduleCampaign
(CampaignService.check_launch). The campaign's move to running and its execution (trigger
`manual`) are written in one transaction: a campaign is never left running without a run, and a
second call (a retry, a second operator) finds the campaign running and is refused, so one call
starts at most one run. The executor then runs it like any other (domain.execution.executor).
"""

from __future__ import annotations

from typing import Protocol

from domain.campaigns.campaign import Campaign
from domain.campaigns.store import load_campaign, save_campaign
from domain.execution.model import Execution, ExecutionStatus
from domain.execution.ports import ExecutionUnitOfWorkFactory
from domain.kernel.errors import FailedPreconditionError
from domain.kernel.ports import Clock, IdGenerator
from domain.kernel.principal import Principal

MANUAL_TRIGGER = "manual"


class LaunchChecks(Protocol):
    """The checks a campaign passes before it may start (CampaignService.check_launch)."""

    async def check_launch(self, campaign: Campaign) -> None: ...


class SendNow:
    def __init__(
        self,
        uow: ExecutionUnitOfWorkFactory,
        launch: LaunchChecks,
        clock: Clock,
        ids: IdGenerator,
    ) -> None:
        self._uow = uow
        self._launch = launch
        self._clock = clock
        self._ids = ids

    async def send_campaign_now(
        self, principal: Principal, campaign_id: str
    ) -> tuple[Campaign, Execution]:
        """The running campaign and its new (pending) execution."""
        principal.require_write()
        async with self._uow() as uow:
            campaign = await load_campaign(uow.campaigns, principal.organization_id, campaign_id)
            now = self._clock.now()
            # The move first: a retry of a call that went through is told the campaign is
            # running, not something about its content.
            campaign.send_now(by=principal.subject, at=now)
            await self._launch.check_launch(campaign)
            execution = Execution(
                execution_id=self._ids.new_id(),
                campaign_id=campaign.campaign_id,
                organization_id=campaign.organization_id,
                status=ExecutionStatus.PENDING,
                trigger=MANUAL_TRIGGER,
                due_at=now,
                created_at=now,
            )
            # The save is conditional on the version loaded: of two concurrent calls, one wins.
            await save_campaign(uow, campaign, self._ids, self._clock)
            if not await uow.executions.add(execution):
                raise FailedPreconditionError(
                    "the campaign already has a run due at this instant",
                    metadata={"campaign_id": campaign.campaign_id},
                )
            await uow.commit()
            return campaign, execution
