"""Who gets what: holdout membership and A/B variant per recipient (BR-CAM-002.4, 004.3).

`bucket = int(md5(f"{user_id}:{campaign_id}").hexdigest(), 16) % 10000`: basis points,
so a 5.25% holdout or a 33.33% arm is exact. The holdout takes the lowest buckets; variants share
the rest in their configured order, each proportionally to its allocation. The answer depends only
on (user, campaign), so every replica and every rerun agrees, and a paused run resumed tomorrow
puts each user in the same arm (docs/assignment-and-throttling.md).

Once an A/B winner is chosen (SelectWinner or the automatic rule, docs/experiments.md) the winner
takes every bucket outside the holdout, the control's included: the test is over, and the
holdout, which measures the campaign as a whole, stays as it was.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

from domain.campaigns.model import Variant
from domain.campaigns.rules import BASIS_POINTS, basis_points


def bucket(user_id: str, campaign_id: str) -> int:
    digest = hashlib.md5(f"{user_id}:{campaign_id}".encode(), usedforsecurity=False).hexdigest()
    return int(digest, 16) % BASIS_POINTS


@dataclass(frozen=True, slots=True)
class Allocation:
    """Precomputed boundaries for one campaign, so assigning a recipient is a short scan."""

    holdout_bp: int
    bounds: tuple[tuple[int, str], ...]  # (exclusive upper bucket, variant_id), ascending

    @classmethod
    def for_campaign(
        cls, holdout_percentage: float, variants: Sequence[Variant], winner_variant_id: str = ""
    ) -> Allocation:
        """`winner_variant_id`: the A/B winner, if one was chosen and is still a sending arm of
        `variants` (a winner the variants no longer hold is ignored)."""
        holdout_bp = basis_points(holdout_percentage) or 0
        if not variants:
            return cls(holdout_bp, ((BASIS_POINTS, ""),))
        if any(v.variant_id == winner_variant_id and not v.is_control for v in variants):
            return cls(holdout_bp, ((BASIS_POINTS, winner_variant_id),))
        remaining = BASIS_POINTS - holdout_bp
        bounds: list[tuple[int, str]] = []
        cumulative = 0
        for variant in variants:
            cumulative += basis_points(variant.allocation_percentage) or 0
            # integer arithmetic: the last arm always ends exactly at 10000
            bounds.append((holdout_bp + remaining * cumulative // BASIS_POINTS, variant.variant_id))
        return cls(holdout_bp, tuple(bounds))

    def assign(self, bucket_value: int) -> str | None:
        """The variant id ("" for a campaign without A/B), or None for the holdout group."""
        if bucket_value < self.holdout_bp:
            return None
        for upper, variant_id in self.bounds:
            if bucket_value < upper:
                return variant_id
        return self.bounds[-1][1]
