"""EstimateAudience (BR-CAM-002.5): the pre-launch funnel and how long a run would take.

It lives with execution, not with the audience, because its answer depends on what a run meets:
the holdout, the channels of the campaign and the rate limits that space its sends.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from domain.audience.model import Audience, AudienceCounts
from domain.audience.ports import AudienceSource
from domain.campaigns import rules
from domain.campaigns.model import Throttle
from domain.campaigns.ports import UnitOfWorkFactory
from domain.campaigns.rules import basis_points
from domain.campaigns.store import load_campaign
from domain.execution.throttling import HOUR, OrganizationLimits, limits_for
from domain.kernel.channels import Channel
from domain.kernel.errors import (
    FieldViolation,
    InvalidArgumentError,
    ViolationCollector,
)
from domain.kernel.ports import Clock
from domain.kernel.principal import PLANNERS, Principal


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
    ) -> None:
        self._audience = audience
        self._campaigns = campaigns
        self._clock = clock
        self._limits = organization_limits or OrganizationLimits()

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
        channels: list[Channel] = []
        per_minute = per_hour = None
        if campaign_id:
            async with self._campaigns(read_only=True) as uow:
                campaign = await load_campaign(
                    uow.campaigns, principal.organization_id, campaign_id
                )
            spec = campaign.spec
            audiences, holdout_percentage = spec.audiences, spec.holdout_percentage
            channels = [c.channel for c in spec.channels] + [
                c.channel for v in spec.variants for c in v.channels
            ]
            per_minute, per_hour = spec.throttle.per_minute, spec.throttle.per_hour
        elif not audiences:
            raise InvalidArgumentError(
                [FieldViolation("audiences", "give audiences or a campaign_id")]
            )
        bp = basis_points(holdout_percentage)
        if bp is None or not 0 <= bp <= rules.MAX_HOLDOUT * 100:
            raise InvalidArgumentError(
                [FieldViolation("holdout_percentage", "0 to 20, two decimals")]
            )
        counts = await self._audience.counts(principal.organization_id, audiences)
        after_holdout = _without_holdout(counts.after_suppression, bp)
        duration = self._completion(
            principal.organization_id, after_holdout, channels, per_minute, per_hour
        )
        return AudienceEstimate(
            tuple(audiences),
            counts,
            after_holdout,
            duration,
            self._clock.now(),
            {c: _without_holdout(n, bp) for c, n in counts.reachable_by_channel.items()},
        )

    def _completion(
        self,
        organization_id: str,
        recipients: int,
        channels: Sequence[Channel],
        per_minute: int | None,
        per_hour: int | None,
    ) -> timedelta:
        """Time to send `recipients` messages under the tightest limit of the first channel
        (the fallback channel most recipients get); quiet hours are not included."""
        channel = channels[0] if channels else Channel.EMAIL
        limits = limits_for(
            organization_id,
            "estimate",
            channel,
            self._limits,
            Throttle(per_minute=per_minute, per_hour=per_hour),
        )
        spacing = max(limit.spacing_seconds for limit in limits)
        return timedelta(seconds=recipients * spacing) if spacing < HOUR else timedelta(0)


def _without_holdout(recipients: int, holdout_bp: int) -> int:
    return recipients - round(recipients * holdout_bp / 10_000)


def _check_audiences(audiences: Sequence[Audience]) -> None:
    """What CreateCampaign checks of audiences (rules.check_audience_list): at most 10, each with
    one source (an audience without one would be estimated as the whole directory) and bounded
    conditions, so an estimate never runs a query no campaign could launch with."""
    v = ViolationCollector()
    rules.check_audience_list(v, audiences)
    v.raise_if_any()
