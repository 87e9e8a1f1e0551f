"""The organization-wide limits the settings set: send rates per organization and channel, and
the marketing frequency cap; shared by the executor, the trigger handler, the release of held
messages and the other inbound events' handlers."""

from __future__ import annotations

from datetime import timedelta

from domain.execution.frequency_cap import MarketingCap, MarketingCaps
from domain.execution.throttling import DEFAULT_CHANNEL_PER_HOUR, OrganizationLimits
from domain.kernel.channels import Channel
from server.settings import Settings


def organization_limits(settings: Settings) -> OrganizationLimits:
    channels = dict(DEFAULT_CHANNEL_PER_HOUR)
    for name, per_hour in settings.channel_per_hour.items():
        channels[Channel(name)] = per_hour
    return OrganizationLimits(per_hour=settings.organization_per_hour, channel_per_hour=channels)


def marketing_caps(settings: Settings) -> MarketingCaps:
    """CAMPAIGN_MARKETING_CAP, or the organization's own in CAMPAIGN_MARKETING_CAP_BY_ORGANIZATION;
    0 means no cap (and no query)."""
    window = timedelta(hours=settings.marketing_cap_window_hours)
    default, overrides = settings.marketing_cap, dict(settings.marketing_cap_by_organization)

    def policy(organization_id: str) -> MarketingCap | None:
        limit = overrides.get(organization_id, default)
        return MarketingCap(limit, window) if limit > 0 else None

    return MarketingCaps(policy)
