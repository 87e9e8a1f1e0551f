"""The automatic winner rule (BR-CAM-004.5, 004.6) and where a test's winner selection stands.

A winner is chosen only when all of these hold, on the campaign's `auto_winner_metric`:
1. every arm with a share of the traffic has at least `min_sample_per_variant` recipients (never
   fewer than 1,000): a test is not judged on its first arrivals;
2. the k-arm chi-square test is significant at the campaign's confidence;
3. there is a clear best sending arm: its rate is strictly above every other sending arm's (a tie
   for first place chooses nothing), and it beats the runner-up in their own two-arm test at the
   same confidence; with a control in the test it also beats the control (Holm-adjusted) with a
   positive lift. A control arm is never the winner: it sends nothing.

Anything short of that keeps collecting: a close race stays undecided rather than being settled by
noise. The rule never replaces a winner already chosen (by hand or by itself).
"""

from __future__ import annotations

from dataclasses import dataclass

from domain.campaigns.campaign import Campaign
from domain.campaigns.model import CampaignStatus
from domain.campaigns.rules import MIN_AUTO_WINNER_SAMPLE
from domain.metrics.experiments import ArmResult, AutoWinnerState, ExperimentResult
from domain.metrics.statistics import Proportion, alpha_of, chi_square_independence

_ENDED = frozenset({CampaignStatus.COMPLETED, CampaignStatus.CANCELLED})


@dataclass(frozen=True, slots=True)
class WinnerChoice:
    """What the rule chose and the evidence it saw, as `campaign.winner_selected` reports it."""

    variant_id: str
    metric: str
    p_value: float  # of the k-arm test
    runner_up_p_value: float  # of the best against the runner-up (1 when there is none)


def auto_winner_state(campaign: Campaign) -> AutoWinnerState:
    ab = campaign.spec.ab_test
    if campaign.winner_variant_id:
        return AutoWinnerState.DECIDED
    if ab is None or not ab.auto_winner_enabled:
        return AutoWinnerState.DISABLED
    if campaign.status in _ENDED:
        return AutoWinnerState.INCONCLUSIVE
    return AutoWinnerState.COLLECTING


def choose_winner(campaign: Campaign, result: ExperimentResult) -> WinnerChoice | None:
    """The winner the rule picks from `result`, or None (see the module docstring)."""
    ab = campaign.spec.ab_test
    if ab is None or not ab.auto_winner_enabled or campaign.winner_variant_id:
        return None
    if result.metric is not ab.auto_winner_metric or not _enough_samples(campaign, result):
        return None
    if not result.is_significant:
        return None
    alpha = alpha_of(result.confidence)
    sending = sorted(
        (a for a in result.arms if not a.is_control and a.compared),
        key=lambda a: a.rate,
        reverse=True,
    )
    if not sending:
        return None
    best = sending[0]
    runner_up_p = 1.0
    if len(sending) > 1:
        runner_up = sending[1]
        if runner_up.rate >= best.rate:
            return None  # a tie for first place
        runner_up_p = _two_arm_p(best, runner_up)
        if runner_up_p >= alpha:
            return None  # not clearly better than the next best
    if not _beats_control(best, result, alpha):
        return None
    return WinnerChoice(best.variant_id, result.metric.value, result.overall.p_value, runner_up_p)


def _enough_samples(campaign: Campaign, result: ExperimentResult) -> bool:
    ab = campaign.spec.ab_test
    needed = max(ab.min_sample_per_variant if ab else 0, MIN_AUTO_WINNER_SAMPLE)
    return all(a.sample_size >= needed for a in result.arms if a.allocation_percentage > 0)


def _two_arm_p(a: ArmResult, b: ArmResult) -> float:
    return chi_square_independence(
        [Proportion(a.sample_size, a.successes), Proportion(b.sample_size, b.successes)]
    ).p_value


def _beats_control(best: ArmResult, result: ExperimentResult, alpha: float) -> bool:
    control = next((a for a in result.arms if a.is_control and a.compared), None)
    if control is None:
        return True
    return best.rate > control.rate and best.adjusted_p_value < alpha
