"""Experiment use cases: GetExperimentResults, and the automatic winner's periodic evaluation.

Reading results never decides anything: a read RPC that changed the campaign would make the
winner depend on who happens to look. The automatic rule runs instead in a background worker
(server/workers/auto_winner.py) that visits the campaigns still waiting for a winner a page at a
time, so the work per tick is bounded whatever the number of campaigns, and every replica may run
it: the save is conditional on the version read, and a lost race is simply skipped.
"""

from __future__ import annotations

from dataclasses import dataclass

from domain.campaigns.campaign import Campaign
from domain.campaigns.model import ExperimentMetric
from domain.campaigns.ports import UnitOfWorkFactory
from domain.campaigns.store import load_campaign, save_campaign
from domain.kernel.errors import StaleEtagError
from domain.kernel.ports import Clock, IdGenerator
from domain.kernel.principal import Principal
from domain.metrics.auto_winner import WinnerChoice, auto_winner_state, choose_winner
from domain.metrics.experiments import (
    AutoWinnerState,
    ExperimentResult,
    experiment_result,
    metric_of,
)
from domain.metrics.model import Breakdown, MetricTotals
from domain.metrics.ports import MetricLedger

AUTO_SUBJECT = "auto-winner"  # who `campaign.winner_selected` says chose an automatic winner


@dataclass(frozen=True, slots=True)
class ExperimentReport:
    result: ExperimentResult
    winner_variant_id: str
    auto_winner_state: AutoWinnerState


class ExperimentService:
    def __init__(
        self, uow: UnitOfWorkFactory, ledger: MetricLedger, clock: Clock, ids: IdGenerator
    ) -> None:
        self._uow = uow
        self._ledger = ledger
        self._clock = clock
        self._ids = ids
        self._cursor = ""  # where the next page of waiting campaigns starts

    async def get_experiment_results(
        self, principal: Principal, campaign_id: str, metric: ExperimentMetric | None = None
    ) -> ExperimentReport:
        """The campaign's test on `metric` (None: its auto-winner metric, else conversion
        rate). A campaign without variants answers an empty result, not an error."""
        principal.require_read()
        async with self._uow(read_only=True) as uow:
            campaign = await load_campaign(uow.campaigns, principal.organization_id, campaign_id)
        result = await self._result(campaign, metric_of(campaign, metric))
        return ExperimentReport(
            result, campaign.winner_variant_id or "", auto_winner_state(campaign)
        )

    async def decide_waiting(self, limit: int) -> int:
        """One tick of the automatic rule: the next `limit` campaigns waiting for a winner
        (across organizations; the worker is the system, not a tenant), each judged on its
        current counts. Returns how many it visited when more may follow, 0 at the end of a
        round (so the worker sleeps between rounds instead of spinning)."""
        async with self._uow(read_only=True) as uow:
            page = await uow.campaigns.winner_pending(self._cursor, limit)
        self._cursor = page[-1].campaign_id if len(page) >= limit else ""
        for campaign in page:
            if campaign.awaits_auto_winner:
                await self.decide(campaign)
        return len(page) if self._cursor else 0

    async def decide(self, campaign: Campaign) -> WinnerChoice | None:
        """Apply the automatic rule to `campaign` and record its choice, if any: the winner,
        saved only if nobody changed the campaign since it was read, with its event."""
        ab = campaign.spec.ab_test
        if ab is None or not ab.auto_winner_enabled or ab.auto_winner_metric is None:
            return None
        result = await self._result(campaign, ab.auto_winner_metric)
        choice = choose_winner(campaign, result)
        if choice is None:
            return None
        evidence = {
            "metric": choice.metric,
            "p_value": choice.p_value,
            "runner_up_p_value": choice.runner_up_p_value,
        }
        try:
            async with self._uow() as uow:
                current = await load_campaign(
                    uow.campaigns, campaign.organization_id, campaign.campaign_id
                )
                if current.version != campaign.version:
                    return None  # changed since it was judged: the next round judges it again
                current.select_winner(
                    choice.variant_id, by=AUTO_SUBJECT, at=self._clock.now(), evidence=evidence
                )
                await save_campaign(uow, current, self._ids, self._clock)
                await uow.commit()
        except StaleEtagError:
            return None  # another replica or an operator won the race
        return choice

    async def _result(self, campaign: Campaign, metric: ExperimentMetric) -> ExperimentResult:
        metrics = await self._ledger.read(
            campaign.organization_id, campaign.campaign_id, None, [Breakdown.VARIANT]
        )
        rows: dict[str, MetricTotals] = {
            row.key: row.totals for row in metrics.rows if row.breakdown is Breakdown.VARIANT
        }
        return experiment_result(campaign, rows, metric)
