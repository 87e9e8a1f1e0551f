"""Rate limits (BR-CAM-006.1-006.5): which limits bind a send, and how a batch is spread.

Every limit is a rate; a batch of n messages reserves n slots on every limit that applies to it
(organization, organization+channel, campaign), and the slowest of them sets the spacing. Each
limit keeps a "theoretical arrival time" (GCRA): the instant its next slot frees up. Reserving
moves it forward by n * spacing, so sends are spread evenly and exhaustion means a later
`send_after`, never a failure.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from types import MappingProxyType
from urllib.parse import quote

from domain.campaigns.model import Throttle
from domain.kernel.channels import Channel

HOUR = 3600.0
DEFAULT_ORGANIZATION_PER_HOUR = 10_000
DEFAULT_CHANNEL_PER_HOUR: Mapping[Channel, int] = MappingProxyType(
    {
        Channel.EMAIL: 10_000,
        Channel.SMS: 1_000,
        Channel.WHATSAPP: 5_000,
        Channel.IN_APP: 50_000,
        Channel.WEBHOOK: 10_000,
    }
)


@dataclass(frozen=True, slots=True)
class OrganizationLimits:
    """Per-organization ceilings; a campaign may lower them, never raise them
    (docs/assignment-and-throttling.md)."""

    per_hour: int = DEFAULT_ORGANIZATION_PER_HOUR
    channel_per_hour: Mapping[Channel, int] = field(
        default_factory=lambda: dict(DEFAULT_CHANNEL_PER_HOUR)
    )


@dataclass(frozen=True, slots=True)
class Limit:
    """One rate, identified by a key shared by every replica (e.g. `org:acme:email`); see
    `limit_key` for how ids are written into it."""

    key: str
    spacing_seconds: float  # time between two sends under this limit alone


@dataclass(frozen=True, slots=True)
class Reservation:
    """Slots for a batch: message i of the batch may go at `start + i * spacing`."""

    start: datetime
    spacing_seconds: float

    def slot(self, index: int) -> datetime:
        return self.start + timedelta(seconds=index * self.spacing_seconds)


def limits_for(
    organization_id: str,
    campaign_id: str,
    channel: Channel,
    org: OrganizationLimits,
    throttle: Throttle,
) -> Sequence[Limit]:
    limits = [
        Limit(limit_key("org", organization_id), HOUR / org.per_hour),
        Limit(
            limit_key("org", organization_id, channel.value),
            HOUR / org.channel_per_hour.get(channel, DEFAULT_CHANNEL_PER_HOUR[channel]),
        ),
    ]
    rates = [r for r in (throttle.per_hour, (throttle.per_minute or 0) * 60) if r]
    if rates:
        limits.append(Limit(limit_key("campaign", campaign_id), HOUR / min(rates)))
    return limits


def limit_key(kind: str, *parts: str) -> str:
    """`kind:part:part`, each part percent-escaped so it holds no `:` (and `%` only as an
    escape): ids are client-chosen, and an organization called `acme:email` must not share the
    `email` limit of organization `acme`. Plain ids (letters, digits, `-_.~`) read unchanged."""
    return ":".join([kind, *(quote(part, safe="") for part in parts)])


def reserve(
    arrivals: Mapping[str, datetime], limits: Sequence[Limit], count: int, now: datetime
) -> tuple[Reservation, dict[str, datetime]]:
    """The reservation for `count` sends and the new arrival time of every limit.

    Pure, so the in-memory limiter and the Redis script (which implements the same arithmetic
    atomically in Lua) can be checked against one definition.
    """
    start = max([now, *(arrivals[lim.key] for lim in limits if lim.key in arrivals)])
    spacing = max(lim.spacing_seconds for lim in limits)
    end = start + timedelta(seconds=count * spacing)
    return Reservation(start, spacing), {lim.key: end for lim in limits}
