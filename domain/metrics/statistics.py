"""The statistics of an A/B test on a rate (BR-CAM-004.4): intervals, tests and their corrections.

Pure functions over counts, computed with scipy so the numbers are the ones every statistics
package gives. None of them raises on a degenerate table (one arm, an empty arm, no success or no
failure anywhere): a test that cannot be computed answers "no evidence" (statistic 0, p-value 1),
because an experiment with too little data must read as not significant, never as an error.

- Wilson score interval for each arm's rate: unlike the normal ("Wald") interval it stays inside
  [0, 1] and keeps its coverage at rates near 0 or 1, which is where open, click and conversion
  rates live.
- Pearson's chi-square test of independence on the k x 2 success/failure table, without Yates'
  continuity correction (the same statistic as the two-proportion z-test squared for k = 2).
- Holm's step-down correction for the pairwise tests against the baseline: it controls the
  family-wise error rate like Bonferroni, and is uniformly more powerful.
- Sample ratio mismatch: a chi-square goodness-of-fit test of the assignment counts against the
  allocations; flagged below SRM_P_THRESHOLD.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from types import ModuleType

# The industry convention for a sample-ratio-mismatch alarm: strict, because the check runs on
# every read of a running test and a false alarm discredits a healthy experiment.
SRM_P_THRESHOLD = 0.001


def _stats() -> ModuleType:
    """scipy.stats, imported on the first computation: it costs about a second of every
    process start (the server, each CLI command), and most processes never judge a test."""
    from scipy import stats  # noqa: PLC0415

    return stats


_NO_EVIDENCE = 1.0


@dataclass(frozen=True, slots=True)
class Proportion:
    """One arm of a test: `successes` of `sample_size` (successes never above sample_size)."""

    sample_size: int
    successes: int

    @property
    def rate(self) -> float:
        return self.successes / self.sample_size if self.sample_size > 0 else 0.0


@dataclass(frozen=True, slots=True)
class TestResult:
    statistic: float = 0.0
    p_value: float = _NO_EVIDENCE
    degrees_of_freedom: int = 0

    def significant(self, alpha: float) -> bool:
        return self.p_value < alpha


@dataclass(frozen=True, slots=True)
class SampleRatioCheck:
    """`checked` is False when there was nothing to compare (fewer than two arms with a share
    of the traffic, or no assignment yet); such a check is never flagged."""

    checked: bool = False
    statistic: float = 0.0
    p_value: float = _NO_EVIDENCE
    flagged: bool = False


def alpha_of(confidence: float) -> float:
    """The significance level of a confidence level: p < 1 - confidence is significant."""
    return 1.0 - confidence


def wilson_interval(arm: Proportion, confidence: float) -> tuple[float, float]:
    """The two-sided Wilson score interval of the arm's rate; (0, 0) for an empty arm."""
    n = arm.sample_size
    if n <= 0:
        return 0.0, 0.0
    z = float(_stats().norm.ppf(1.0 - alpha_of(confidence) / 2.0))
    p = min(max(arm.successes / n, 0.0), 1.0)
    z2 = z * z
    denominator = 1.0 + z2 / n
    center = (p + z2 / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / denominator
    return max(0.0, center - half), min(1.0, center + half)


def chi_square_independence(arms: Sequence[Proportion]) -> TestResult:
    """Pearson's chi-square test that the arms share one rate, on their success/failure table.

    Empty arms are left out (they carry no information); with fewer than two arms left, or no
    success or no failure in the whole table, there is nothing to test: no evidence."""
    table = [
        [a.successes, a.sample_size - a.successes]
        for a in arms
        if a.sample_size > 0 and 0 <= a.successes <= a.sample_size
    ]
    if len(table) < 2:
        return TestResult()
    successes = sum(row[0] for row in table)
    failures = sum(row[1] for row in table)
    if successes == 0 or failures == 0:
        return TestResult()
    result = _stats().chi2_contingency(table, correction=False)
    statistic, p_value = float(result.statistic), float(result.pvalue)
    if math.isnan(statistic) or math.isnan(p_value):
        return TestResult()
    return TestResult(statistic, p_value, int(result.dof))


def holm_adjusted(p_values: Sequence[float]) -> list[float]:
    """Holm-Bonferroni adjusted p-values, in the order given: the i-th smallest of m is scaled
    by (m - i), kept monotone (an adjusted p never falls below a smaller one's), capped at 1."""
    m = len(p_values)
    order = sorted(range(m), key=lambda i: p_values[i])
    adjusted = [1.0] * m
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p_values[i]))
        adjusted[i] = running
    return adjusted


def sample_ratio_mismatch(counts: Sequence[int], allocations: Sequence[float]) -> SampleRatioCheck:
    """Chi-square goodness of fit of the observed assignment `counts` against the expected
    shares `allocations` (any positive scale, e.g. percentages). Arms with no share are left out
    (nothing is expected of them); flagged when p < SRM_P_THRESHOLD."""
    pairs = [(c, a) for c, a in zip(counts, allocations, strict=True) if a > 0]
    total = sum(c for c, _ in pairs)
    if len(pairs) < 2 or total <= 0:
        return SampleRatioCheck()
    share = sum(a for _, a in pairs)
    expected = [total * a / share for _, a in pairs]
    result = _stats().chisquare([c for c, _ in pairs], f_exp=expected)
    statistic, p_value = float(result.statistic), float(result.pvalue)
    if math.isnan(statistic) or math.isnan(p_value):
        return SampleRatioCheck()
    return SampleRatioCheck(True, statistic, p_value, p_value < SRM_P_THRESHOLD)


def lift(rate: float, baseline: float) -> float:
    """(rate - baseline) / baseline; 0 when the baseline rate is 0 (relative lift is undefined
    there, and an infinite number helps no reader)."""
    return (rate - baseline) / baseline if baseline > 0 else 0.0
