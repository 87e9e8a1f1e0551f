"""Properties of `validate_spec` over arbitrary numbers: it either accepts or reports violations,
never crashes, and accepts exactly the allocations and holdouts the rules allow."""

from __future__ import annotations

import itertools
import math

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from domain.audience.model import Audience, SegmentType
from domain.campaigns.model import CampaignSpec, CampaignType, ChannelContent, Variant
from domain.campaigns.rules import validate_spec
from domain.kernel.channels import Channel
from domain.kernel.errors import ValidationError


def spec_with(allocations: list[float], holdout: float) -> CampaignSpec:
    return CampaignSpec(
        name="Spring sale",
        campaign_type=CampaignType.SCHEDULED,
        audiences=(Audience("", SegmentType.INCLUDE, segment_id="seg-1"),),
        channels=(ChannelContent(Channel.SMS, body="Hi"),),
        variants=tuple(Variant("", f"arm-{i}", a) for i, a in enumerate(allocations)),
        holdout_percentage=holdout,
    )


def is_accepted(spec: CampaignSpec) -> bool:
    try:
        validate_spec(spec)
    except ValidationError:
        return False
    return True


def exact_basis_points(percentage: float) -> int | None:
    scaled = percentage * 100
    return round(scaled) if abs(scaled - round(scaled)) < 1e-6 else None


reasonable = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False)


@given(allocations=st.lists(reasonable, max_size=7), holdout=reasonable)
def test_validate_spec_only_raises_validation_error_for_reasonable_numbers(
    allocations: list[float], holdout: float
) -> None:
    accepted = is_accepted(spec_with(allocations, holdout))

    if accepted:
        points = [exact_basis_points(a) for a in allocations]
        assert allocations == [] or 2 <= len(allocations) <= 5
        assert all(p is not None and p > 0 for p in points)
        assert allocations == [] or sum(p for p in points if p) == 10_000
        holdout_points = exact_basis_points(holdout)
        assert holdout_points is not None
        assert 0 <= holdout_points <= 2_000


@st.composite
def two_decimal_split_of_100(draw: st.DrawFn) -> list[float]:
    arms = draw(st.integers(min_value=2, max_value=5))
    cuts = sorted(draw(st.sets(st.integers(1, 9_999), min_size=arms - 1, max_size=arms - 1)))
    bounds = [0, *cuts, 10_000]
    return [(high - low) / 100 for low, high in itertools.pairwise(bounds)]


@given(allocations=two_decimal_split_of_100(), holdout_bp=st.integers(0, 2_000))
def test_any_two_decimal_split_of_100_percent_is_accepted(
    allocations: list[float], holdout_bp: int
) -> None:
    assert validate_spec(spec_with(allocations, holdout_bp / 100)) is None


@given(holdout_bp=st.integers(-10_000, 10_000).filter(lambda bp: not 0 <= bp <= 2_000))
def test_holdout_outside_0_to_20_percent_is_always_rejected(holdout_bp: int) -> None:
    with pytest.raises(ValidationError) as caught:
        validate_spec(spec_with([], holdout_bp / 100))

    assert [v.field for v in caught.value.violations] == ["holdout_percentage"]


@example(allocations=[float("nan"), 50.0], holdout=0.0)
@given(allocations=st.lists(st.floats(), max_size=7), holdout=st.floats())
def test_validate_spec_only_raises_validation_error_for_any_float(
    allocations: list[float], holdout: float
) -> None:
    accepted = is_accepted(spec_with(allocations, holdout))

    assert accepted is False or all(math.isfinite(a) for a in allocations)
