"""Experiment results and the automatic winner, on the in-memory campaign store and metric ledger:
where each arm's sample comes from (a control's from its holdout counters), the tests against the
baseline, the sample-ratio check, and the winner rule's thresholds, tie rule and recording."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

import pytest

from adapters.memory.campaigns import MemoryStore
from adapters.memory.metric_ledger import MemoryMetricLedger
from adapters.system import UuidGenerator
from domain.campaigns.campaign import Campaign
from domain.campaigns.model import (
    AbTest,
    CampaignSpec,
    CampaignStatus,
    ChannelContent,
    ExperimentMetric,
    Variant,
)
from domain.campaigns.service import CampaignService
from domain.kernel import events as ev
from domain.kernel.channels import Channel
from domain.kernel.principal import Principal
from domain.metrics.experiment_service import AUTO_SUBJECT, ExperimentService
from domain.metrics.experiments import AutoWinnerState
from domain.metrics.model import Cell, MetricTotals
from domain.metrics.statistics import Proportion, chi_square_independence, holm_adjusted

if TYPE_CHECKING:
    from tests.unit.conftest import FakeClock

CONVERSION = ExperimentMetric.CONVERSION_RATE
EMAIL = (ChannelContent(Channel.EMAIL, subject="Hi", html_body="<p>Hi</p>"),)


def arm(name: str, allocation: float, *, control: bool = False) -> Variant:
    return Variant("", name, allocation, is_control=control, channels=() if control else EMAIL)


def ab_spec(base: CampaignSpec, *variants: Variant, auto: bool = True) -> CampaignSpec:
    return replace(
        base,
        channels=(),
        variants=variants,
        ab_test=AbTest(
            auto_winner_enabled=auto,
            auto_winner_metric=CONVERSION if auto else None,
            confidence=0.95,
            min_sample_per_variant=1000,
        ),
    )


class Experiment:
    """A running A/B campaign and the counters the ledger holds for it."""

    def __init__(self, store: MemoryStore, clock: FakeClock, campaign: Campaign) -> None:
        self.store = store
        self.campaign = campaign
        self.ledger = MemoryMetricLedger()
        self.service = ExperimentService(store.unit_of_work, self.ledger, clock, UuidGenerator())
        self.clock = clock

    def variant_id(self, name: str) -> str:
        return next(v.variant_id for v in self.campaign.spec.variants if v.name == name)

    async def count(self, name: str, sample: int, successes: int, *, opened: int = 0) -> None:
        variant = next(v for v in self.campaign.spec.variants if v.name == name)
        cell = Cell(self.campaign.organization_id, self.campaign.campaign_id, "ex-1", "", "")
        if variant.is_control:
            totals = MetricTotals(holdout=sample, holdout_converted=successes)
            cell = replace(cell, variant_id=variant.variant_id)
        else:
            totals = MetricTotals(queued=sample, opened=opened, converted=successes)
            cell = replace(cell, variant_id=variant.variant_id, channel="email")
        await self.ledger.add({cell: totals}, self.clock.now())

    def stored(self) -> Campaign:
        return self.store.state.campaigns[self.campaign.campaign_id]

    def winner_events(self) -> list[ev.DomainEvent]:
        return [
            e for _, e, _ in self.store.state.outbox if e.event_type == ev.CAMPAIGN_WINNER_SELECTED
        ]


@pytest.fixture
def make_experiment(
    store: MemoryStore, clock: FakeClock, service: CampaignService, admin: Principal
):  # type: ignore[no-untyped-def]
    async def make(*variants: Variant, auto: bool = True, base: CampaignSpec) -> Experiment:
        campaign = await service.create_campaign(admin, ab_spec(base, *variants, auto=auto))
        store.state.campaigns[campaign.campaign_id].status = CampaignStatus.RUNNING
        return Experiment(store, clock, store.state.campaigns[campaign.campaign_id])

    return make


async def test_arms_report_their_counts_and_a_control_counts_its_holdout(
    make_experiment, scheduled_spec: CampaignSpec, admin: Principal
) -> None:
    x = await make_experiment(
        arm("A", 45), arm("B", 45), arm("Control", 10, control=True), base=scheduled_spec
    )
    await x.count("A", 2000, 240, opened=900)
    await x.count("B", 2000, 200, opened=700)
    await x.count("Control", 400, 20)

    report = await x.service.get_experiment_results(admin, x.campaign.campaign_id)
    result = report.result
    assert result.metric is CONVERSION
    assert result.confidence == 0.95
    a, b, control = result.arms
    assert (a.sample_size, a.successes, a.rate) == (2000, 240, 0.12)
    assert (control.sample_size, control.successes, control.rate) == (400, 20, 0.05)
    assert control.is_baseline
    assert result.baseline_variant_id == x.variant_id("Control")
    assert a.lift == pytest.approx((0.12 - 0.05) / 0.05)
    assert a.ci_lower < 0.12 < a.ci_upper
    # pairwise against the control, Holm-adjusted over the two comparisons
    raw = [
        chi_square_independence([Proportion(400, 20), Proportion(2000, hits)]).p_value
        for hits in (240, 200)
    ]
    assert (a.p_value, b.p_value) == pytest.approx(raw)
    assert (a.adjusted_p_value, b.adjusted_p_value) == pytest.approx(holm_adjusted(raw))
    overall = chi_square_independence(
        [Proportion(2000, 240), Proportion(2000, 200), Proportion(400, 20)]
    )
    assert result.overall.p_value == pytest.approx(overall.p_value)
    assert result.is_significant
    assert report.auto_winner_state is AutoWinnerState.COLLECTING


async def test_on_open_rate_the_control_is_shown_but_left_out_of_the_tests(
    make_experiment, scheduled_spec: CampaignSpec, admin: Principal
) -> None:
    x = await make_experiment(
        arm("A", 45), arm("B", 45), arm("Control", 10, control=True), base=scheduled_spec
    )
    await x.count("A", 2000, 0, opened=900)
    await x.count("B", 2000, 0, opened=700)
    await x.count("Control", 400, 20)
    result = (
        await x.service.get_experiment_results(
            admin, x.campaign.campaign_id, ExperimentMetric.OPEN_RATE
        )
    ).result
    a, b, control = result.arms
    assert not control.compared
    assert (control.sample_size, control.successes) == (400, 0)
    assert a.is_baseline  # the first arm in the tests
    assert b.lift == pytest.approx((0.35 - 0.45) / 0.45)
    assert result.overall.degrees_of_freedom == 1


async def test_sample_ratio_mismatch_is_reported_on_a_skewed_assignment(
    make_experiment, scheduled_spec: CampaignSpec, admin: Principal
) -> None:
    x = await make_experiment(arm("A", 50), arm("B", 50), base=scheduled_spec)
    await x.count("A", 5000, 100)
    await x.count("B", 5600, 112)
    result = (await x.service.get_experiment_results(admin, x.campaign.campaign_id)).result
    assert result.sample_ratio.checked
    assert result.sample_ratio.flagged


async def test_no_variants_no_counts_answers_an_empty_result(
    service: CampaignService, store: MemoryStore, clock: FakeClock, admin: Principal, scheduled_spec
) -> None:
    campaign = await service.create_campaign(admin, scheduled_spec)
    x = Experiment(store, clock, campaign)
    report = await x.service.get_experiment_results(admin, campaign.campaign_id)
    assert report.result.arms == ()
    assert not report.result.is_significant
    assert not report.result.sample_ratio.checked
    assert report.auto_winner_state is AutoWinnerState.DISABLED


async def test_no_automatic_winner_below_1000_recipients_in_every_variant(
    make_experiment, scheduled_spec: CampaignSpec
) -> None:
    x = await make_experiment(arm("A", 50), arm("B", 50), base=scheduled_spec)
    await x.count("A", 5000, 1000)  # 20%, overwhelming
    await x.count("B", 999, 50)  # 5%, one recipient short
    assert await x.service.decide(x.stored()) is None
    assert x.stored().winner_variant_id is None
    await x.count("B", 1, 0)
    choice = await x.service.decide(x.stored())
    assert choice is not None
    assert choice.variant_id == x.variant_id("A")


async def test_no_automatic_winner_on_a_tie_for_first_place(
    make_experiment, scheduled_spec: CampaignSpec
) -> None:
    x = await make_experiment(arm("A", 34), arm("B", 33), arm("C", 33), base=scheduled_spec)
    await x.count("A", 3000, 450)  # 15%
    await x.count("B", 3000, 450)  # 15%: tied with A
    await x.count("C", 3000, 150)  # 5%: the overall test is overwhelmingly significant
    assert await x.service.decide(x.stored()) is None
    assert x.winner_events() == []


async def test_no_automatic_winner_when_the_best_is_not_clearly_ahead_of_the_runner_up(
    make_experiment, scheduled_spec: CampaignSpec
) -> None:
    x = await make_experiment(arm("A", 34), arm("B", 33), arm("C", 33), base=scheduled_spec)
    await x.count("A", 3000, 455)
    await x.count("B", 3000, 450)  # a hair behind A: not significantly
    await x.count("C", 3000, 150)
    assert await x.service.decide(x.stored()) is None


async def test_no_automatic_winner_without_significance(
    make_experiment, scheduled_spec: CampaignSpec
) -> None:
    x = await make_experiment(arm("A", 50), arm("B", 50), base=scheduled_spec)
    await x.count("A", 2000, 110)
    await x.count("B", 2000, 100)
    assert await x.service.decide(x.stored()) is None


async def test_the_control_never_wins_and_the_best_must_beat_it(
    make_experiment, scheduled_spec: CampaignSpec
) -> None:
    x = await make_experiment(
        arm("A", 40), arm("B", 40), arm("Control", 20, control=True), base=scheduled_spec
    )
    await x.count("A", 2000, 100)
    await x.count("B", 2000, 40)
    await x.count("Control", 1000, 100)  # the control converts best: no message wins
    assert await x.service.decide(x.stored()) is None


async def test_a_clear_significant_best_is_chosen_recorded_and_published_once(
    make_experiment, scheduled_spec: CampaignSpec
) -> None:
    x = await make_experiment(
        arm("A", 40), arm("B", 40), arm("Control", 20, control=True), base=scheduled_spec
    )
    await x.count("A", 2000, 100)  # 5%
    await x.count("B", 2000, 200)  # 10%
    await x.count("Control", 1000, 30)  # 3%
    visited = await x.service.decide_waiting(limit=10)
    assert visited == 0  # one short page: the round is over
    stored = x.stored()
    assert stored.winner_variant_id == x.variant_id("B")
    assert stored.version == x.campaign.version + 1
    (event,) = x.winner_events()
    assert event.data["variant_id"] == x.variant_id("B")
    assert event.data["selected_by"] == AUTO_SUBJECT
    assert event.data["automatic"] is True
    assert event.data["metric"] == CONVERSION.value
    assert event.data["p_value"] < 0.05
    assert not stored.awaits_auto_winner
    await x.service.decide_waiting(limit=10)  # decided campaigns are not judged again
    assert len(x.winner_events()) == 1


async def test_automatic_selection_off_never_chooses(
    make_experiment, scheduled_spec: CampaignSpec, admin: Principal
) -> None:
    x = await make_experiment(arm("A", 50), arm("B", 50), auto=False, base=scheduled_spec)
    await x.count("A", 5000, 1000)
    await x.count("B", 5000, 100)
    await x.service.decide_waiting(limit=10)
    assert x.stored().winner_variant_id is None
    report = await x.service.get_experiment_results(admin, x.campaign.campaign_id)
    assert report.auto_winner_state is AutoWinnerState.DISABLED
    assert report.result.is_significant


async def test_the_worker_pages_through_waiting_campaigns(
    make_experiment, scheduled_spec: CampaignSpec
) -> None:
    made = [
        await make_experiment(arm("A", 50), arm("B", 50), base=scheduled_spec) for _ in range(3)
    ]
    service = made[0].service
    assert await service.decide_waiting(limit=2) == 2  # a full page: more may follow
    assert await service.decide_waiting(limit=2) == 0  # the last page
    assert await service.decide_waiting(limit=2) == 2  # the next round starts over
