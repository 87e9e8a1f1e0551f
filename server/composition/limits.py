"""The organization rate limits the settings give (the executor, the trigger handler and the
release of held messages all throttle by them)."""

from __future__ import annotations

from domain.execution.throttling import DEFAULT_CHANNEL_PER_HOUR, OrganizationLimits
from domain.kernel.channels import Channel
from server.settings import Settings


def organization_limits(settings: Settings) -> OrganizationLimits:
    channels = dict(DEFAULT_CHANNEL_PER_HOUR)
    for name, per_hour in settings.channel_per_hour.items():
        channels[Channel(name)] = per_hour
    return OrganizationLimits(per_hour=settings.organization_per_hour, channel_per_hour=channels)
