"""An A/B test's result on one metric: each arm's sample, successes, rate and interval, the
k-arm chi-square test, each arm against the baseline (Holm-corrected), and the sample-ratio check.

Where the counts come from (the metric ledger, broken down by variant):
- a sending arm's sample is its `queued` messages (every message written for the arm; one per
  recipient under the default fallback strategy), its successes the `opened`, `clicked` or
  `converted` messages;
- a control arm sends nothing: the run counts its members as it counts the holdout
  (domain.execution.planning), so its sample is the arm's `holdout` counter and its successes
  the arm's `holdout_converted`. A control can only be compared on conversions: nobody in it
  can open or click, so on open and click rates it is reported but left out of every test.

The baseline is the control arm when it takes part in the tests, else the first arm that does.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass

from domain.campaigns.campaign import Campaign
from domain.campaigns.model import ExperimentMetric, Variant
from domain.metrics.model import MetricTotals
from domain.metrics.statistics import (
    Proportion,
    SampleRatioCheck,
    TestResult,
    alpha_of,
    chi_square_independence,
    holm_adjusted,
    lift,
    sample_ratio_mismatch,
    wilson_interval,
)

DEFAULT_CONFIDENCE = 0.95
DEFAULT_METRIC = ExperimentMetric.CONVERSION_RATE


class AutoWinnerState(enum.StrEnum):
    DISABLED = "disabled"
    COLLECTING = "collecting"
    DECIDED = "decided"
    INCONCLUSIVE = "inconclusive"


@dataclass(frozen=True, slots=True)
class ArmResult:
    variant_id: str
    name: str
    is_control: bool
    allocation_percentage: float
    sample_size: int
    successes: int
    rate: float
    ci_lower: float
    ci_upper: float
    # In the tests: False for a control on open or click rate.
    compared: bool
    is_baseline: bool = False
    lift: float = 0.0
    # Against the baseline (1 for the baseline itself and for arms not compared).
    p_value: float = 1.0
    adjusted_p_value: float = 1.0
    is_significant: bool = False


@dataclass(frozen=True, slots=True)
class ExperimentResult:
    metric: ExperimentMetric
    confidence: float
    arms: tuple[ArmResult, ...]
    overall: TestResult
    is_significant: bool
    baseline_variant_id: str
    sample_ratio: SampleRatioCheck

    def arm(self, variant_id: str) -> ArmResult | None:
        return next((a for a in self.arms if a.variant_id == variant_id), None)


def metric_of(campaign: Campaign, requested: ExperimentMetric | None) -> ExperimentMetric:
    """The metric asked for, else the campaign's auto-winner metric, else conversion rate."""
    if requested is not None:
        return requested
    ab = campaign.spec.ab_test
    if ab is not None and ab.auto_winner_metric is not None:
        return ab.auto_winner_metric
    return DEFAULT_METRIC


def confidence_of(campaign: Campaign) -> float:
    ab = campaign.spec.ab_test
    return ab.confidence if ab is not None else DEFAULT_CONFIDENCE


def counts_of(variant: Variant, totals: MetricTotals, metric: ExperimentMetric) -> Proportion:
    """The arm's sample and successes on `metric` (see the module docstring)."""
    if variant.is_control:
        successes = totals.holdout_converted if metric is ExperimentMetric.CONVERSION_RATE else 0
        return Proportion(totals.holdout, min(successes, totals.holdout))
    hits = {
        ExperimentMetric.OPEN_RATE: totals.opened,
        ExperimentMetric.CLICK_RATE: totals.clicked,
        ExperimentMetric.CONVERSION_RATE: totals.converted,
    }[metric]
    return Proportion(totals.queued, min(hits, totals.queued))


def experiment_result(
    campaign: Campaign,
    rows: Mapping[str, MetricTotals],
    metric: ExperimentMetric,
) -> ExperimentResult:
    """The result of the campaign's variants on `metric`, from the ledger's per-variant totals
    (`rows`, keyed by variant_id; a variant without a row has counted nothing yet)."""
    confidence = confidence_of(campaign)
    alpha = alpha_of(confidence)
    variants = campaign.spec.variants
    counts = [counts_of(v, rows.get(v.variant_id, MetricTotals()), metric) for v in variants]
    compared = [
        not (v.is_control and metric is not ExperimentMetric.CONVERSION_RATE) for v in variants
    ]
    in_test = [i for i, c in enumerate(compared) if c]
    baseline = _baseline_index(variants, in_test)
    overall = chi_square_independence([counts[i] for i in in_test])

    pairwise: dict[int, TestResult] = {
        i: chi_square_independence([counts[baseline], counts[i]])
        for i in in_test
        if baseline is not None and i != baseline
    }
    others = sorted(pairwise)
    adjusted = dict(zip(others, holm_adjusted([pairwise[i].p_value for i in others]), strict=True))
    base_rate = counts[baseline].rate if baseline is not None else 0.0

    arms = []
    for i, (variant, arm) in enumerate(zip(variants, counts, strict=True)):
        low, high = wilson_interval(arm, confidence)
        p_value = pairwise[i].p_value if i in pairwise else 1.0
        adjusted_p = adjusted.get(i, 1.0)
        arms.append(
            ArmResult(
                variant_id=variant.variant_id,
                name=variant.name,
                is_control=variant.is_control,
                allocation_percentage=variant.allocation_percentage,
                sample_size=arm.sample_size,
                successes=arm.successes,
                rate=arm.rate,
                ci_lower=low,
                ci_upper=high,
                compared=compared[i],
                is_baseline=i == baseline,
                lift=lift(arm.rate, base_rate) if compared[i] and i != baseline else 0.0,
                p_value=p_value,
                adjusted_p_value=adjusted_p,
                is_significant=adjusted_p < alpha,
            )
        )
    return ExperimentResult(
        metric=metric,
        confidence=confidence,
        arms=tuple(arms),
        overall=overall,
        is_significant=overall.significant(alpha),
        baseline_variant_id=variants[baseline].variant_id if baseline is not None else "",
        sample_ratio=_sample_ratio(campaign, counts),
    )


def _baseline_index(variants: tuple[Variant, ...], in_test: list[int]) -> int | None:
    for i in in_test:
        if variants[i].is_control:
            return i
    return in_test[0] if in_test else None


def _sample_ratio(campaign: Campaign, counts: list[Proportion]) -> SampleRatioCheck:
    """The assignment check, on the sending arms only, and only until a winner is chosen.

    A control arm counts every member assigned to it, a sending arm only the members it could
    reach (a recipient with no eligible channel gets no message): the two units differ by the
    unreachable share, which a large test would flag as a mismatch that is not one. Once a
    winner is chosen the remaining recipients all go to it, so the allocations no longer hold."""
    if campaign.winner_variant_id:
        return SampleRatioCheck()
    variants = campaign.spec.variants
    sending = [i for i, v in enumerate(variants) if not v.is_control]
    return sample_ratio_mismatch(
        [counts[i].sample_size for i in sending],
        [variants[i].allocation_percentage for i in sending],
    )
