"""Holdout and variant assignment (BR-CAM-002.4, 004.3): the md5 bucket exactly, and
boundaries in basis points, so a 5.25% holdout or a 33.33% arm gets exactly its share of buckets.

The whole bucket space (0..9999) is small, so these tests walk all of it instead of sampling.
"""

from __future__ import annotations

import hashlib
from collections import Counter

import pytest

from domain.campaigns.model import Variant
from domain.execution.assignment import Allocation, bucket

BUCKETS = range(10_000)


def variants(*allocations: float) -> list[Variant]:
    return [Variant(f"v{i}", f"arm {i}", a) for i, a in enumerate(allocations)]


def outcomes(allocation: Allocation) -> list[str | None]:
    return [allocation.assign(b) for b in BUCKETS]


@pytest.mark.parametrize(
    ("user_id", "campaign_id", "expected"),
    [
        ("user-1", "camp-1", 2987),  # md5("user-1:camp-1") = 7d91b726...d479972b
        ("alice", "spring-sale", 2011),
        ("", "", 9559),  # md5(":")
        ("ü", "c", 6451),  # UTF-8 bytes, not code points
        ("42", "7", 1461),
    ],
)
def test_bucket_is_the_design_formula(user_id: str, campaign_id: str, expected: int) -> None:
    formula = int(hashlib.md5(f"{user_id}:{campaign_id}".encode()).hexdigest(), 16) % 10000

    assert bucket(user_id, campaign_id) == formula == expected


def test_bucket_depends_on_the_campaign_and_the_order_of_the_parts() -> None:
    assert bucket("alice", "spring-sale") != bucket("alice", "summer-sale")
    assert bucket("a:b", "c") == bucket("a", "b:c")  # the formula's own ambiguity, kept as is


@pytest.mark.parametrize(
    ("holdout", "allocations", "bounds"),
    [
        (0, (50, 50), [(5000, "v0"), (10000, "v1")]),
        (5, (50, 50), [(5250, "v0"), (10000, "v1")]),
        (20, (50, 50), [(6000, "v0"), (10000, "v1")]),
        (0, (33.33, 33.33, 33.34), [(3333, "v0"), (6666, "v1"), (10000, "v2")]),
        # remaining 9500 buckets: 9500 * 3333 // 10000 = 3166, 9500 * 6666 // 10000 = 6332
        (5, (33.33, 33.33, 33.34), [(3666, "v0"), (6832, "v1"), (10000, "v2")]),
        (5.25, (12.5, 87.5), [(525 + 1184, "v0"), (10000, "v1")]),
        # remaining 8000: 8000 * 2001 // 10000 = 1600, then 3200, 4800, 6400, 8000
        (
            20,
            (20.01, 19.99, 20, 20, 20),
            [(3600, "v0"), (5200, "v1"), (6800, "v2"), (8400, "v3"), (10000, "v4")],
        ),
    ],
)
def test_boundaries_are_exact(
    holdout: float, allocations: tuple[float, ...], bounds: list[tuple[int, str]]
) -> None:
    allocation = Allocation.for_campaign(holdout, variants(*allocations))

    assert allocation.holdout_bp == round(holdout * 100)
    assert list(allocation.bounds) == bounds
    for upper, variant_id in bounds[:-1]:
        assert allocation.assign(upper - 1) == variant_id
        assert allocation.assign(upper) != variant_id
    if allocation.holdout_bp:
        assert allocation.assign(allocation.holdout_bp - 1) is None
    assert allocation.assign(allocation.holdout_bp) == "v0"


HOLDOUTS = [0, 5, 20, 0.01, 13.37]
ALLOCATIONS = [
    (50, 50),
    (99.99, 0.01),
    (33.33, 33.33, 33.34),
    (10, 20, 30, 40),
    (25.25, 24.75, 16.67, 16.66, 16.67),
    (20, 20, 20, 20, 20),
]


@pytest.mark.parametrize("holdout", HOLDOUTS)
@pytest.mark.parametrize("allocations", ALLOCATIONS)
def test_every_bucket_has_one_outcome_and_each_arm_its_exact_share(
    holdout: float, allocations: tuple[float, ...]
) -> None:
    allocation = Allocation.for_campaign(holdout, variants(*allocations))
    counts = Counter(outcomes(allocation))

    holdout_bp = round(holdout * 100)
    remaining = 10_000 - holdout_bp
    assert counts[None] == holdout_bp
    assert sum(counts.values()) == 10_000
    # Each arm gets its share of the non-holdout buckets, floored on the cumulative sum so the
    # arms tile the range: never more than one bucket off, and exact when there is no holdout.
    cumulative = 0
    for i, share in enumerate(allocations):
        share_bp = round(share * 100)
        lower = remaining * cumulative // 10_000
        cumulative += share_bp
        assert counts[f"v{i}"] == remaining * cumulative // 10_000 - lower
        assert abs(counts[f"v{i}"] - remaining * share_bp / 10_000) < 1
        if holdout_bp == 0:
            assert counts[f"v{i}"] == share_bp


@pytest.mark.parametrize("holdout", HOLDOUTS)
@pytest.mark.parametrize("allocations", ALLOCATIONS)
def test_outcomes_are_contiguous_in_configured_order(
    holdout: float, allocations: tuple[float, ...]
) -> None:
    """Holdout lowest, then each arm in order: raising the holdout only moves the lowest buckets."""
    order = [None, *(f"v{i}" for i in range(len(allocations)))]
    allocation = Allocation.for_campaign(holdout, variants(*allocations))
    ranks = [order.index(outcome) for outcome in outcomes(allocation)]

    assert ranks == sorted(ranks)


@pytest.mark.parametrize("holdout", [0, 5, 20])
def test_without_variants_everyone_outside_the_holdout_gets_the_empty_variant(
    holdout: float,
) -> None:
    counts = Counter(outcomes(Allocation.for_campaign(holdout, [])))

    assert counts == (
        {None: holdout * 100, "": 10_000 - holdout * 100} if holdout else {"": 10_000}
    )


def test_a_control_variant_is_assigned_like_any_other_arm() -> None:
    arms = [Variant("ctl", "control", 10, is_control=True), Variant("t", "treatment", 90)]
    allocation = Allocation.for_campaign(0, arms)

    assert Counter(outcomes(allocation)) == {"ctl": 1000, "t": 9000}
