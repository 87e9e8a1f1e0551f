"""When a message may go out: quiet hours and weekends in the recipient's own time zone
(BR-CAM-006.6, 006.7; TCPA). A message that falls inside them is deferred to the next allowed
instant, never dropped.

Arithmetic is done on local wall-clock times and converted back through the zone, so DST days
work: on a spring-forward night an 08:00 end is still 08:00 local, whatever the UTC offset.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from domain.campaigns.model import QuietHours

SATURDAY = 5


def _in_quiet_hours(local: time, quiet: QuietHours) -> bool:
    if not quiet.enabled:
        return False
    if quiet.start < quiet.end:  # same-day window, e.g. 12:00-14:00
        return quiet.start <= local < quiet.end
    return local >= quiet.start or local < quiet.end  # overnight, e.g. 21:00-08:00


def _localize(naive_local: datetime, tz: ZoneInfo) -> datetime:
    """A wall-clock time in `tz`; a time skipped by DST becomes the instant the gap ends (the
    first instant after it), e.g. 02:30 on a US spring-forward night is 03:00 local."""
    aware = naive_local.replace(tzinfo=tz)
    if aware.astimezone(UTC).astimezone(tz).replace(tzinfo=None) == naive_local:
        return aware
    # Both readings of the skipped time straddle the transition; bisect to it (to the second).
    low = naive_local.replace(tzinfo=tz, fold=1).astimezone(UTC)
    high = naive_local.replace(tzinfo=tz, fold=0).astimezone(UTC)
    low, high = min(low, high), max(low, high)
    after = high.astimezone(tz).utcoffset()
    while high - low > timedelta(seconds=1):
        middle = low + (high - low) / 2
        if middle.astimezone(tz).utcoffset() == after:
            high = middle
        else:
            low = middle
    floor = high.replace(microsecond=0)
    return (floor if floor.astimezone(tz).utcoffset() == after else high).astimezone(tz)


def next_allowed_instant(
    at: datetime, tz: ZoneInfo, quiet: QuietHours, exclude_weekends: bool
) -> datetime:
    """`at` itself if a message may be sent then, else the first instant after it that may."""
    candidate = at.astimezone(tz)
    for _ in range(8):  # at most: leave quiet hours, then skip a weekend, then quiet hours again
        local = candidate.replace(tzinfo=None)
        if exclude_weekends and local.weekday() >= SATURDAY:
            monday = (local + timedelta(days=7 - local.weekday())).replace(
                hour=0, minute=0, second=0, microsecond=0
            )
            candidate = _localize(monday, tz)
            continue
        if _in_quiet_hours(local.time(), quiet):
            end = local.replace(
                hour=quiet.end.hour, minute=quiet.end.minute, second=0, microsecond=0
            )
            if end <= local:
                end += timedelta(days=1)
            candidate = _localize(end, tz)
            continue
        return candidate.astimezone(UTC)
    return candidate.astimezone(UTC)


def window_end(
    at: datetime, tz: ZoneInfo, quiet: QuietHours, exclude_weekends: bool
) -> datetime | None:
    """For an instant `at` at which a message may be sent (next_allowed_instant(at) == at), the
    first instant after it at which none may: the next start of quiet hours or of a weekend,
    whichever comes first; None when neither rule applies. The two functions together tile time
    into the windows a run sends in (EstimateAudience walks them, domain.execution.eta)."""
    local = at.astimezone(tz).replace(tzinfo=None)
    ends: list[datetime] = []
    if quiet.enabled:
        start = local.replace(
            hour=quiet.start.hour, minute=quiet.start.minute, second=0, microsecond=0
        )
        ends.append(start if start > local else start + timedelta(days=1))
    if exclude_weekends:
        saturday = (local + timedelta(days=SATURDAY - local.weekday())).replace(
            hour=0, minute=0, second=0, microsecond=0
        )
        ends.append(saturday if saturday > local else saturday + timedelta(days=7))
    if not ends:
        return None
    return _localize(min(ends), tz).astimezone(UTC)
