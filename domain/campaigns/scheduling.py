"""When a schedule fires: one-time instants and cron recurrences in the campaign's time zone.

Cron runs in local wall-clock time (a "09:00 every Monday" campaign stays at 09:00 across DST), so
firings are computed in the zone and only then converted to UTC.

A cron expression has exactly five fields (minute hour day-of-month month day-of-week): croniter
would read a sixth as seconds, and `* * * * * *` fired every five seconds, each firing a full run to
every recipient. Consecutive firings must also be at least MIN_CRON_INTERVAL apart (operators may
change it), checked over the expression's next CRON_INTERVAL_SAMPLE firings: a campaign is a
broadcast, not a ticker.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from croniter import CroniterBadCronError, CroniterBadDateError, croniter

from domain.campaigns.model import CronSchedule, Schedule
from domain.kernel.errors import ValidationError, ViolationCollector, shown
from domain.kernel.time_zones import zone

MIN_LEAD_TIME = timedelta(minutes=5)  # BR-CAM-001.3
# Named in the lead-time error, so whoever meets it learns how to change it (server/settings.py),
# and that sending now (domain.execution.send_now) is a different action with no lead at all.
LEAD_TIME_HINT = (
    "the lead is the operator setting CAMPAIGN_SCHEDULE_MIN_LEAD_SECONDS;"
    " to start a run at once, call SendCampaignNow"
)
MIN_CRON_INTERVAL = timedelta(hours=1)
CRON_FIELDS = 5
# Firings inspected for the minimum interval, and how far ahead at most: a year of firings covers
# every pattern of minute, hour, day and month lists (a close pair on the 31st and the 1st shows
# up within months), while the horizon bounds the search for rare dates (29 February).
CRON_INTERVAL_SAMPLE = 400
CRON_INTERVAL_HORIZON = timedelta(days=2 * 366)


def next_cron_firing(cron: CronSchedule, after: datetime) -> datetime | None:
    """The first firing strictly after `after` and inside [start_at, end_at], in UTC."""
    tz = zone(cron.timezone) or UTC
    begin = max(after, cron.start_at - timedelta(microseconds=1)) if cron.start_at else after
    try:
        firing: datetime = croniter(cron.expression, begin.astimezone(tz)).get_next(datetime)
    except CroniterBadDateError:  # e.g. "0 0 31 2 *": valid syntax, no such date
        return None
    firing = firing.astimezone(UTC)
    if cron.end_at is not None and firing > cron.end_at:
        return None
    return firing


def validate_schedule(
    schedule: Schedule,
    now: datetime,
    min_lead: timedelta = MIN_LEAD_TIME,
    min_interval: timedelta = MIN_CRON_INTERVAL,
) -> datetime:
    """Check a schedule (BR-CAM-001.3) and return its first firing, or raise ValidationError."""
    v = ViolationCollector(error=ValidationError)
    first: datetime | None = None
    if (schedule.scheduled_at is None) == (schedule.cron is None):
        v.add("schedule", "exactly one of scheduled_at or cron is required")
    elif schedule.scheduled_at is not None:
        if schedule.scheduled_at.tzinfo is None:
            v.add("scheduled_at", "must carry a time zone (use UTC)")
        elif schedule.scheduled_at < now + min_lead:
            v.add(
                "scheduled_at",
                f"must be at least {_minutes(min_lead)} in the future ({LEAD_TIME_HINT})",
            )
        first = schedule.scheduled_at
    elif schedule.cron is not None:
        first = _validate_cron(v.nested("cron"), schedule.cron, now, min_lead, min_interval)
    v.raise_if_any()
    assert first is not None  # every branch that leaves `first` unset added a violation
    return first


def _validate_cron(
    v: ViolationCollector,
    cron: CronSchedule,
    now: datetime,
    min_lead: timedelta,
    min_interval: timedelta,
) -> datetime | None:
    for name, instant in (("start_at", cron.start_at), ("end_at", cron.end_at)):
        if instant is not None and instant.tzinfo is None:
            v.add(name, "must carry a time zone (use UTC)")
    if v.violations:
        return None
    if zone(cron.timezone) is None:
        v.add("timezone", f"unknown IANA time zone {shown(cron.timezone)}")
    if not _is_valid_expression(cron.expression):
        v.add(
            "expression",
            f"not a valid cron expression of {CRON_FIELDS} fields"
            f" (minute hour day-of-month month day-of-week): {shown(cron.expression)}",
        )
    else:
        gap = shortest_cron_interval(cron.expression, now)
        if gap is not None and gap < min_interval:
            v.add(
                "expression",
                f"fires {_duration(gap)} apart; consecutive firings must be at least"
                f" {_duration(min_interval)} apart",
            )
    if cron.start_at and cron.end_at and cron.end_at <= cron.start_at:
        v.add("end_at", "must be after start_at")
    if cron.end_at and cron.end_at <= now:
        v.add("end_at", "must be in the future")
    if v.violations:
        return None
    first = next_cron_firing(cron, now + min_lead - timedelta(microseconds=1))
    if first is None:
        v.add("expression", "never fires between now (+5 minutes) and end_at")
    return first


def shortest_cron_interval(expression: str, now: datetime) -> timedelta | None:
    """The shortest gap between consecutive firings among the next CRON_INTERVAL_SAMPLE, on the
    wall clock (naive local time): a property of the expression, not of a DST change that happens
    to fall in the sample. None when it fires at most once in the horizon."""
    start = now.replace(tzinfo=None)
    horizon = start + CRON_INTERVAL_HORIZON
    shortest: timedelta | None = None
    try:
        firings = croniter(expression, start)
        previous: datetime = firings.get_next(datetime)
        for _ in range(CRON_INTERVAL_SAMPLE):
            following: datetime = firings.get_next(datetime)
            if following > horizon:
                break
            gap = following - previous
            shortest = gap if shortest is None else min(shortest, gap)
            previous = following
    except CroniterBadDateError:  # no (further) firing within croniter's search range
        pass
    return shortest


def _duration(span: timedelta) -> str:
    seconds = int(span.total_seconds())
    if seconds % 3600 == 0:
        return f"{seconds // 3600} hour" + ("s" if seconds != 3600 else "")
    if seconds % 60 == 0:
        return f"{seconds // 60} minute" + ("s" if seconds != 60 else "")
    return f"{seconds} second" + ("s" if seconds != 1 else "")


def _minutes(lead: timedelta) -> str:
    seconds = int(lead.total_seconds())
    return f"{seconds // 60} minutes" if seconds % 60 == 0 else f"{seconds} seconds"


def _is_valid_expression(expression: str) -> bool:
    if len(expression.split()) != CRON_FIELDS:
        return False
    try:
        croniter(expression)
    except (CroniterBadCronError, ValueError, KeyError):
        return False
    return True
