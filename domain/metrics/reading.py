"""MetricsService.GetCampaignMetrics as a use case: the caller's campaign (or one execution of
it) read from the metric ledger, never from the messages."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from domain.campaigns.store import load_campaign
from domain.execution.lookup import load_execution
from domain.execution.ports import ExecutionUnitOfWork
from domain.kernel.principal import Principal
from domain.metrics.model import Breakdown, CampaignMetrics
from domain.metrics.ports import MetricLedger


class MetricsUnitOfWork(ExecutionUnitOfWork, Protocol):
    @property
    def metrics(self) -> MetricLedger: ...

    async def __aenter__(self) -> MetricsUnitOfWork: ...


class MetricsUnitOfWorkFactory(Protocol):
    def __call__(self, *, read_only: bool = False) -> MetricsUnitOfWork: ...


class CampaignMetricsReader:
    def __init__(self, uow: MetricsUnitOfWorkFactory) -> None:
        self._uow = uow

    async def read(
        self,
        principal: Principal,
        campaign_id: str,
        execution_id: str = "",
        breakdowns: Sequence[Breakdown] = (),
    ) -> CampaignMetrics:
        """Another organization's campaign, and an execution of another campaign, are
        NOT_FOUND; `breakdowns` come checked (known, distinct) from the caller."""
        principal.require_read()
        async with self._uow(read_only=True) as uow:
            campaign = await load_campaign(uow.campaigns, principal.organization_id, campaign_id)
            if execution_id:
                await load_execution(
                    uow.executions, principal.organization_id, campaign.campaign_id, execution_id
                )
            return await uow.metrics.read(
                principal.organization_id,
                campaign.campaign_id,
                execution_id or None,
                breakdowns,
            )
