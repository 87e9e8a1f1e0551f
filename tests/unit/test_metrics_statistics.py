"""The A/B statistics against known answers: published Wilson intervals, chi-square statistics
from the textbook formulas, Holm adjustments as the reference implementations give them, and the
sample-ratio check on a fair and a skewed split; degenerate tables never raise."""

from __future__ import annotations

import math

import pytest
from scipy import stats

from domain.metrics.statistics import (
    SRM_P_THRESHOLD,
    Proportion,
    chi_square_independence,
    holm_adjusted,
    lift,
    sample_ratio_mismatch,
    wilson_interval,
)

# Newcombe (1998), "Two-sided confidence intervals for the single proportion", Table I, method 3
# (the Wilson score interval without continuity correction), 95%.
NEWCOMBE = [
    (81, 263, 0.2553, 0.3662),
    (15, 148, 0.0624, 0.1605),
    (0, 20, 0.0, 0.1611),
    (1, 29, 0.0061, 0.1718),
]


@pytest.mark.parametrize(("successes", "n", "low", "high"), NEWCOMBE)
def test_wilson_interval_matches_the_published_values(
    successes: int, n: int, low: float, high: float
) -> None:
    got = wilson_interval(Proportion(n, successes), 0.95)
    assert got == pytest.approx((low, high), abs=1e-4)


def test_wilson_interval_of_all_or_nothing_is_closed_form() -> None:
    z2 = stats.norm.ppf(0.975) ** 2
    assert wilson_interval(Proportion(10, 0), 0.95) == pytest.approx((0.0, z2 / (10 + z2)))
    assert wilson_interval(Proportion(10, 10), 0.95) == pytest.approx((10 / (10 + z2), 1.0))


def test_wilson_interval_widens_with_confidence_and_is_empty_without_a_sample() -> None:
    narrow = wilson_interval(Proportion(1000, 100), 0.90)
    wide = wilson_interval(Proportion(1000, 100), 0.99)
    assert wide[0] < narrow[0] < 0.1 < narrow[1] < wide[1]
    assert wilson_interval(Proportion(0, 0), 0.95) == (0.0, 0.0)


def _pearson_2x2(a: int, b: int, c: int, d: int) -> float:
    """The textbook shortcut: n (ad - bc)^2 / ((a+b)(c+d)(a+c)(b+d))."""
    n = a + b + c + d
    return n * (a * d - b * c) ** 2 / ((a + b) * (c + d) * (a + c) * (b + d))


def test_two_arm_chi_square_is_the_textbook_2x2_statistic() -> None:
    # arm A: 120 of 1000 converted, arm B: 90 of 1000
    result = chi_square_independence([Proportion(1000, 120), Proportion(1000, 90)])
    expected = _pearson_2x2(120, 880, 90, 910)
    assert result.statistic == pytest.approx(expected)
    assert result.degrees_of_freedom == 1
    assert result.p_value == pytest.approx(stats.chi2.sf(expected, 1))
    assert result.p_value == pytest.approx(0.0287, abs=1e-4)


def test_two_arm_chi_square_equals_the_pooled_z_test_squared() -> None:
    x1, n1, x2, n2 = 200, 2000, 250, 2100
    pooled = (x1 + x2) / (n1 + n2)
    z = (x1 / n1 - x2 / n2) / math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    result = chi_square_independence([Proportion(n1, x1), Proportion(n2, x2)])
    assert result.statistic == pytest.approx(z * z)
    assert result.p_value == pytest.approx(2 * stats.norm.sf(abs(z)))


def test_k_arm_chi_square_sums_observed_against_expected() -> None:
    arms = [Proportion(500, 50), Proportion(400, 60), Proportion(600, 45)]
    total_n = sum(a.sample_size for a in arms)
    total_x = sum(a.successes for a in arms)
    statistic = 0.0
    for arm in arms:
        for observed, share in (
            (arm.successes, total_x / total_n),
            (arm.sample_size - arm.successes, 1 - total_x / total_n),
        ):
            expected = arm.sample_size * share
            statistic += (observed - expected) ** 2 / expected
    result = chi_square_independence(arms)
    assert result.statistic == pytest.approx(statistic)
    assert result.degrees_of_freedom == 2
    assert result.p_value == pytest.approx(stats.chi2.sf(statistic, 2))
    assert result.significant(0.05)


@pytest.mark.parametrize(
    "arms",
    [
        [],
        [Proportion(1000, 10)],  # one arm
        [Proportion(1000, 0), Proportion(1000, 0)],  # no success anywhere
        [Proportion(10, 10), Proportion(20, 20)],  # no failure anywhere
        [Proportion(0, 0), Proportion(0, 0), Proportion(0, 0)],  # empty arms
        [Proportion(0, 0), Proportion(1000, 30)],  # one empty arm leaves one arm
    ],
)
def test_degenerate_tables_are_not_significant_and_never_raise(arms: list[Proportion]) -> None:
    result = chi_square_independence(arms)
    assert (result.statistic, result.p_value) == (0.0, 1.0)
    assert not result.significant(0.05)


def test_an_empty_arm_is_left_out_of_the_test() -> None:
    with_empty = chi_square_independence(
        [Proportion(1000, 120), Proportion(0, 0), Proportion(1000, 90)]
    )
    without = chi_square_independence([Proportion(1000, 120), Proportion(1000, 90)])
    assert with_empty == without


def test_holm_adjustment_matches_the_reference_values() -> None:
    # sorted 0.005, 0.01, 0.03, 0.04 scaled by 4, 3, 2, 1 -> 0.02, 0.03, 0.06, 0.04 -> monotone
    assert holm_adjusted([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert holm_adjusted([0.5, 0.9]) == pytest.approx([1.0, 1.0])
    assert holm_adjusted([0.02]) == pytest.approx([0.02])
    assert holm_adjusted([]) == []


def test_sample_ratio_mismatch_is_flagged_on_a_skewed_split() -> None:
    check = sample_ratio_mismatch([5000, 5400], [50.0, 50.0])
    expected_statistic = 2 * 200**2 / 5200
    assert check.checked
    assert check.statistic == pytest.approx(expected_statistic)
    assert check.p_value == pytest.approx(stats.chi2.sf(expected_statistic, 1))
    assert check.p_value < SRM_P_THRESHOLD
    assert check.flagged


def test_sample_ratio_mismatch_is_not_flagged_on_a_fair_split() -> None:
    check = sample_ratio_mismatch([5012, 4988], [50.0, 50.0])
    assert check.checked
    assert not check.flagged
    uneven = sample_ratio_mismatch([2010, 7990], [20.0, 80.0])
    assert not uneven.flagged
    assert sample_ratio_mismatch([2500, 7500], [50.0, 50.0]).flagged


def test_sample_ratio_mismatch_needs_two_arms_with_traffic() -> None:
    assert not sample_ratio_mismatch([0, 0], [50.0, 50.0]).checked
    assert not sample_ratio_mismatch([100], [100.0]).checked
    assert not sample_ratio_mismatch([100, 0], [100.0, 0.0]).checked


def test_lift_is_relative_to_the_baseline_and_zero_without_one() -> None:
    assert lift(0.12, 0.10) == pytest.approx(0.2)
    assert lift(0.08, 0.10) == pytest.approx(-0.2)
    assert lift(0.05, 0.0) == 0.0
