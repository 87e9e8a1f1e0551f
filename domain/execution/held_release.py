"""Slots for held messages whose window (quiet hours, a weekend, a pause, a trigger's delay) has
ended: reserved through the throttle per channel, like a fan-out batch's, so a morning's releases
are spread at the rate, not sent as a burst. A slot that falls into the recipient's next window
holds the message again until it ends (domain.execution.slots).

Shared by the executor (a run's held messages) and the trigger release (domain.events.
trigger_release, held trigger messages across campaigns).
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime

from domain.campaigns.model import Throttle
from domain.execution.model import Held
from domain.execution.ports import RateLimiter
from domain.execution.slots import LocalRules, place
from domain.execution.throttling import OrganizationLimits, limits_for
from domain.kernel.channels import Channel


async def release_slots(
    limiter: RateLimiter,
    due: Sequence[Held],
    *,
    organization_id: str,
    campaign_id: str,
    throttle: Throttle,
    organization: OrganizationLimits,
    now: datetime,
) -> list[Held]:
    """Each of one campaign's `due` messages with its slot (`held` False), or held again until
    the end of the window its slot fell into; the caller writes them (release_held)."""
    local = LocalRules.of(throttle)
    by_channel: dict[Channel, list[Held]] = defaultdict(list)
    for held in due:
        by_channel[held.channel].append(held)
    released: list[Held] = []
    for channel, group in by_channel.items():
        limits = limits_for(organization_id, campaign_id, channel, organization, throttle)
        reservation = await limiter.reserve(limits, len(group), now)
        for index, held in enumerate(group):
            send_after, _, again = place(reservation.slot(index), local, held.timezone, None)
            released.append(dataclasses.replace(held, send_after=send_after, held=again))
    return released
