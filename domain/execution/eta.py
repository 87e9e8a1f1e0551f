"""How long a run would take (EstimateAudience's `estimated_completion`), by the rules a run
follows: the rate limits that space its sends (domain.execution.throttling) and the quiet hours
and weekends of each recipient's time zone (domain.execution.timing).

The run's messages are tallied per channel and recipient time zone, exactly as the executor
plans them (holdout and arm by bucket, channels by eligibility and suppression). Every send of a
run passes the organization limit, so the limits act as one queue: a message on channel c costs
`spacing(c)` seconds of it, the slowest of the organization, channel and campaign limits. Time
is then walked window by window: while a zone's window is open its messages share the queue with
the other open zones' in proportion to what each still has to send (the executor interleaves
recipients in user_id order); a closed zone's messages wait for its next window and use nothing
of the rate meanwhile. The answer assumes no other campaign of the organization is sending.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from domain.audience.contacts import choose_channels
from domain.audience.model import Recipient
from domain.campaigns.model import Throttle
from domain.execution.assignment import Allocation, bucket
from domain.execution.timing import next_allowed_instant, window_end
from domain.kernel import time_zones
from domain.kernel.channels import Channel

# A walk longer than this many windows means a load no estimate can honestly answer; it stops
# there and reports what it reached (a year of daily windows for a thousand zones is less).
MAX_STEPS = 1_000_000
UTC_ZONE = ZoneInfo("UTC")


@dataclass(frozen=True, slots=True)
class Sending:
    """What decides which messages a recipient gets: the run's own rules, without content."""

    campaign_id: str
    allocation: Allocation
    arm_channels: Mapping[str, tuple[Channel, ...]]  # variant_id -> channels; () for control
    all_channels: bool

    def tally(self, recipients: Iterable[Recipient], into: Counter[tuple[Channel, str]]) -> int:
        """Adds each recipient's messages to `into` by (channel, time zone); returns how many
        recipients were looked at."""
        seen = 0
        for recipient in recipients:
            seen += 1
            contact = recipient.contact
            variant = self.allocation.assign(bucket(contact.user_id, self.campaign_id))
            channels = self.arm_channels.get(variant, ()) if variant is not None else ()
            if not channels:
                continue
            chosen = choose_channels(
                contact,
                channels,
                set(recipient.suppressed_channels),
                all_channels=self.all_channels,
            )
            for channel in chosen:
                into[channel, contact.timezone] += 1
        return seen


def completion(
    now: datetime,
    messages: Mapping[tuple[Channel, str], float],
    spacing: Mapping[Channel, float],
    throttle: Throttle,
) -> timedelta:
    """How long after `now` the last of `messages` (per channel and zone name) may go out."""
    work: dict[ZoneInfo, float] = {}
    for (channel, name), count in messages.items():
        tz = time_zones.zone(name) or UTC_ZONE  # as the executor reads a recipient's zone
        work[tz] = work.get(tz, 0.0) + count * spacing[channel]
    remaining = {tz: seconds for tz, seconds in work.items() if seconds > 0}
    quiet, weekends = throttle.quiet_hours, throttle.exclude_weekends
    if not remaining:
        return timedelta(0)
    if not (quiet.enabled or weekends):
        return timedelta(seconds=sum(remaining.values()))
    at = now.astimezone(UTC)
    for _ in range(MAX_STEPS):
        opens = {tz: next_allowed_instant(at, tz, quiet, weekends) for tz in remaining}
        open_zones = [tz for tz, when in opens.items() if when <= at]
        boundaries = [when for when in opens.values() if when > at]
        for tz in open_zones:
            end = window_end(at, tz, quiet, weekends)
            if end is not None:
                boundaries.append(end)
        following = min(boundaries)
        if open_zones:
            due = sum(remaining[tz] for tz in open_zones)
            span = (following - at).total_seconds()
            if due <= span:  # proportional shares: the open zones finish together
                at += timedelta(seconds=due)
                for tz in open_zones:
                    del remaining[tz]
                if not remaining:
                    return at - now
                continue
            for tz in open_zones:
                remaining[tz] -= remaining[tz] * span / due
        at = following
    return at - now
