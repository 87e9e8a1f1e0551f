"""EstimateAudience (BR-CAM-002.5): the pre-launch funnel and how long a run would take.

It lives with execution, not with the audience, because its answer depends on what a run meets:
the holdout, the channels of the campaign, the rate limits that space its sends and the quiet
hours and weekends of each recipient's time zone (domain.execution.eta). Reach is reported for
the campaign's channels only.
"""

from __future__ import annotations

import contextlib
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from domain.audience.model import Audience, AudienceCounts
from domain.audience.ports import AudienceSource
from domain.campaigns import rules
from domain.campaigns.campaign import Campaign
from domain.campaigns.model import ChannelStrategy, Throttle
from domain.campaigns.ports import UnitOfWorkFactory
from domain.campaigns.rules import basis_points
from domain.campaigns.store import load_campaign
from domain.execution.assignment import Allocation
from domain.execution.eta import Sending, completion
from domain.execution.throttling import OrganizationLimits, limits_for
from domain.kernel.channels import Channel
from domain.kernel.errors import (
    FieldViolation,
    InvalidArgumentError,
    ViolationCollector,
)
from domain.kernel.ports import Clock
from domain.kernel.principal import PLANNERS, Principal

# Recipients planned one by one for the ETA (docs/assignment-and-throttling.md, "Estimates").
DEFAULT_SAMPLE = 20_000


@dataclass(frozen=True, slots=True)
class AudienceEstimate:
    audiences: tuple[Audience, ...]
    counts: AudienceCounts
    after_holdout: int
    estimated_completion: timedelta
    estimated_at: datetime
    # After holdout, like after_holdout (counts.reachable_by_channel is before it).
    reachable_by_channel: dict[Channel, int] = field(default_factory=dict)


class AudienceEstimator:
    def __init__(
        self,
        *,
        audience: AudienceSource,
        campaigns: UnitOfWorkFactory,
        clock: Clock,
        organization_limits: OrganizationLimits | None = None,
        sample_size: int = DEFAULT_SAMPLE,
    ) -> None:
        """`sample_size`: how many recipients (the first, in user_id order) are planned one by
        one for the ETA's channel and time-zone mix; a bigger audience is scaled from them."""
        self._audience = audience
        self._campaigns = campaigns
        self._clock = clock
        self._limits = organization_limits or OrganizationLimits()
        self._sample_size = sample_size

    async def estimate_audience(
        self,
        principal: Principal,
        *,
        campaign_id: str = "",
        audiences: Sequence[Audience] = (),
        holdout_percentage: float = 0.0,
    ) -> AudienceEstimate:
        principal.require_any(PLANNERS, "estimating an audience")
        _check_audiences(audiences)  # before any query, even when a campaign_id replaces them
        campaign: Campaign | None = None
        if campaign_id:
            async with self._campaigns(read_only=True) as uow:
                campaign = await load_campaign(
                    uow.campaigns, principal.organization_id, campaign_id
                )
            audiences = campaign.spec.audiences
            holdout_percentage = campaign.spec.holdout_percentage
        elif not audiences:
            raise InvalidArgumentError(
                [FieldViolation("audiences", "give audiences or a campaign_id")]
            )
        bp = basis_points(holdout_percentage)
        if bp is None or not 0 <= bp <= rules.MAX_HOLDOUT * 100:
            raise InvalidArgumentError(
                [FieldViolation("holdout_percentage", "0 to 20, two decimals")]
            )
        sending, throttle = _sending(campaign, holdout_percentage)
        counts = await self._audience.counts(principal.organization_id, audiences)
        after_holdout = _without_holdout(counts.after_suppression, bp)
        now = self._clock.now()
        duration = await self._completion(
            principal.organization_id,
            audiences,
            counts,
            sending=sending,
            throttle=throttle,
            now=now,
        )
        channels = _channels_of(campaign)
        return AudienceEstimate(
            tuple(audiences),
            counts,
            after_holdout,
            duration,
            now,
            {
                c: _without_holdout(n, bp)
                for c, n in counts.reachable_by_channel.items()
                if c in channels
            },
        )

    async def _completion(
        self,
        organization_id: str,
        audiences: Sequence[Audience],
        counts: AudienceCounts,
        *,
        sending: Sending,
        throttle: Throttle,
        now: datetime,
    ) -> timedelta:
        """domain.execution.eta over the first `sample_size` recipients' messages, scaled to
        the whole audience."""
        if counts.after_suppression == 0:
            return timedelta(0)
        tally: Counter[tuple[Channel, str]] = Counter()
        seen = 0
        stream = self._audience.recipients(
            organization_id, audiences, batch_size=min(self._sample_size, 10_000)
        )
        async with contextlib.aclosing(stream):
            async for batch in stream:
                seen += sending.tally(batch[: self._sample_size - seen], tally)
                if seen >= self._sample_size:
                    break
        if not seen:
            return timedelta(0)
        scale = counts.after_suppression / seen
        limits = self._limits
        spacing = {
            channel: max(
                limit.spacing_seconds
                for limit in limits_for(organization_id, "estimate", channel, limits, throttle)
            )
            for channel, _ in tally
        }
        return completion(now, {k: n * scale for k, n in tally.items()}, spacing, throttle)


def _sending(campaign: Campaign | None, holdout_percentage: float) -> tuple[Sending, Throttle]:
    """The campaign's rules for who gets what; without a campaign, an email campaign with the
    default throttle (docs/assignment-and-throttling.md, "Estimates")."""
    if campaign is None:
        allocation = Allocation.for_campaign(holdout_percentage, ())
        return Sending("", allocation, {"": (Channel.EMAIL,)}, all_channels=False), Throttle()
    spec = campaign.spec
    arms: dict[str, tuple[Channel, ...]] = {}
    for variant in spec.variants:
        contents = () if variant.is_control else (variant.channels or spec.channels)
        arms[variant.variant_id] = tuple(c.channel for c in contents)
    if not spec.variants:
        arms[""] = tuple(c.channel for c in spec.channels)
    sending = Sending(
        campaign.campaign_id,
        Allocation.for_campaign(spec.holdout_percentage, spec.variants),
        arms,
        all_channels=spec.channel_strategy is ChannelStrategy.ALL,
    )
    return sending, spec.throttle


def _channels_of(campaign: Campaign | None) -> frozenset[Channel]:
    """The channels reach is reported for: the campaign's (its own and its variants'); every
    channel when only audiences are estimated, since no campaign narrows them."""
    if campaign is None:
        return frozenset(Channel)
    spec = campaign.spec
    return frozenset(
        [c.channel for c in spec.channels] + [c.channel for v in spec.variants for c in v.channels]
    )


def _without_holdout(recipients: int, holdout_bp: int) -> int:
    return recipients - round(recipients * holdout_bp / 10_000)


def _check_audiences(audiences: Sequence[Audience]) -> None:
    """What CreateCampaign checks of audiences (rules.check_audience_list): at most 10, each with
    one source (an audience without one would be estimated as the whole directory) and bounded
    conditions, so an estimate never runs a query no campaign could launch with."""
    v = ViolationCollector()
    rules.check_audience_list(v, audiences)
    v.raise_if_any()
