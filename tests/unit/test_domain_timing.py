"""Quiet hours and weekends in the recipient's zone (BR-CAM-006.6, 006.7): checked as local
wall-clock times AND as UTC instants, because a DST bug shows in only one of the two.

Dates: 2026-06-10 is a Wednesday, 2026-06-12 a Friday. DST changes: US 2026-03-08 (02:00 EST ->
03:00 EDT) and 2026-11-01 (02:00 EDT -> 01:00 EST); EU 2026-03-29 (02:00 CET -> 03:00 CEST) and
2026-10-25 (03:00 CEST -> 02:00 CET). All four are Sundays.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from domain.campaigns.model import QuietHours
from domain.execution.timing import next_allowed_instant

NEW_YORK = ZoneInfo("America/New_York")
BERLIN = ZoneInfo("Europe/Berlin")
KOLKATA = ZoneInfo("Asia/Kolkata")
ZONES = [NEW_YORK, BERLIN, KOLKATA, ZoneInfo("UTC")]
DEFAULT = QuietHours()  # 21:00-08:00
OFF = QuietHours(enabled=False)


def local(tz: ZoneInfo, text: str, *, fold: int = 0) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=tz, fold=fold)


def wall(instant: datetime, tz: ZoneInfo) -> str:
    return instant.astimezone(tz).strftime("%Y-%m-%d %H:%M")


@pytest.mark.parametrize("tz", ZONES, ids=str)
@pytest.mark.parametrize(
    ("at", "expected"),
    [
        ("2026-06-10 20:59", "2026-06-10 20:59"),
        ("2026-06-10 21:00", "2026-06-11 08:00"),
        ("2026-06-10 23:59", "2026-06-11 08:00"),
        ("2026-06-11 00:00", "2026-06-11 08:00"),
        ("2026-06-11 07:59", "2026-06-11 08:00"),
        ("2026-06-11 08:00", "2026-06-11 08:00"),
    ],
)
def test_default_quiet_hours_in_every_zone(tz: ZoneInfo, at: str, expected: str) -> None:
    result = next_allowed_instant(local(tz, at), tz, DEFAULT, exclude_weekends=False)

    assert result.tzinfo is UTC
    assert wall(result, tz) == expected
    assert result == local(tz, expected)


def test_the_utc_instant_follows_the_zone_offset() -> None:
    """08:00 is 12:00 UTC in New York (EDT), 06:00 in Berlin (CEST), 02:30 in Kolkata (IST)."""
    at = "2026-06-10 22:00"
    results = [next_allowed_instant(local(tz, at), tz, DEFAULT, False) for tz in ZONES]

    assert [r.strftime("%H:%M") for r in results] == ["12:00", "06:00", "02:30", "08:00"]


def test_seconds_count_at_the_boundaries() -> None:
    assert next_allowed_instant(
        local(BERLIN, "2026-06-10 20:59:59.999999"), BERLIN, DEFAULT, False
    ) == local(BERLIN, "2026-06-10 20:59:59.999999")
    assert next_allowed_instant(
        local(BERLIN, "2026-06-11 07:59:59.999999"), BERLIN, DEFAULT, False
    ) == local(BERLIN, "2026-06-11 08:00")


@pytest.mark.parametrize(
    ("at", "expected"),
    [
        ("2026-06-10 11:59", "2026-06-10 11:59"),
        ("2026-06-10 12:00", "2026-06-10 14:00"),
        ("2026-06-10 13:59", "2026-06-10 14:00"),
        ("2026-06-10 14:00", "2026-06-10 14:00"),
        ("2026-06-10 23:00", "2026-06-10 23:00"),
    ],
)
def test_a_same_day_window(at: str, expected: str) -> None:
    lunch = QuietHours(start=time(12, 0), end=time(14, 0))

    assert wall(next_allowed_instant(local(NEW_YORK, at), NEW_YORK, lunch, False), NEW_YORK) == (
        expected
    )


@pytest.mark.parametrize("at", ["2026-06-10 23:00", "2026-06-11 03:00", "2026-06-13 12:00"])
def test_disabled_quiet_hours_send_at_once(at: str) -> None:
    assert next_allowed_instant(local(BERLIN, at), BERLIN, OFF, False) == local(BERLIN, at)


@pytest.mark.parametrize(
    ("at", "quiet", "expected"),
    [
        ("2026-06-12 20:00", DEFAULT, "2026-06-12 20:00"),  # Friday before 21:00: still allowed
        ("2026-06-12 21:00", DEFAULT, "2026-06-15 08:00"),  # quiet -> Saturday -> Monday 08:00
        ("2026-06-12 20:00", QuietHours(start=time(20, 0)), "2026-06-15 08:00"),
        ("2026-06-13 12:00", DEFAULT, "2026-06-15 08:00"),
        ("2026-06-14 23:30", DEFAULT, "2026-06-15 08:00"),
        ("2026-06-13 12:00", OFF, "2026-06-15 00:00"),  # weekends alone: Monday midnight
        ("2026-06-12 23:59", OFF, "2026-06-12 23:59"),
    ],
)
def test_weekend_exclusion(at: str, quiet: QuietHours, expected: str) -> None:
    for tz in ZONES:
        result = next_allowed_instant(local(tz, at), tz, quiet, exclude_weekends=True)
        assert wall(result, tz) == expected, tz


@pytest.mark.parametrize(
    ("tz", "at", "expected_local", "expected_utc"),
    [
        # US spring forward: 08:00 on Sunday is already EDT (UTC-4), not EST
        (NEW_YORK, "2026-03-07 21:00", "2026-03-08 08:00", "2026-03-08 12:00"),
        (NEW_YORK, "2026-03-08 01:59", "2026-03-08 08:00", "2026-03-08 12:00"),
        (NEW_YORK, "2026-03-08 03:00", "2026-03-08 08:00", "2026-03-08 12:00"),
        (NEW_YORK, "2026-03-08 20:59", "2026-03-08 20:59", "2026-03-09 00:59"),
        # US fall back: 08:00 on Sunday is EST (UTC-5) again
        (NEW_YORK, "2026-10-31 21:00", "2026-11-01 08:00", "2026-11-01 13:00"),
        (NEW_YORK, "2026-11-01 01:30", "2026-11-01 08:00", "2026-11-01 13:00"),
        (NEW_YORK, "2026-11-01 21:00", "2026-11-02 08:00", "2026-11-02 13:00"),
        # EU spring forward and fall back
        (BERLIN, "2026-03-28 21:30", "2026-03-29 08:00", "2026-03-29 06:00"),
        (BERLIN, "2026-03-29 01:59", "2026-03-29 08:00", "2026-03-29 06:00"),
        (BERLIN, "2026-03-29 21:00", "2026-03-30 08:00", "2026-03-30 06:00"),
        (BERLIN, "2026-10-24 23:00", "2026-10-25 08:00", "2026-10-25 07:00"),
        (BERLIN, "2026-10-25 02:30", "2026-10-25 08:00", "2026-10-25 07:00"),
    ],
)
def test_dst_change_days(tz: ZoneInfo, at: str, expected_local: str, expected_utc: str) -> None:
    result = next_allowed_instant(local(tz, at), tz, DEFAULT, exclude_weekends=False)

    assert wall(result, tz) == expected_local
    assert result == datetime.fromisoformat(expected_utc).replace(tzinfo=UTC)


def test_dst_day_with_the_weekend_excluded_goes_to_monday() -> None:
    result = next_allowed_instant(local(NEW_YORK, "2026-03-07 22:00"), NEW_YORK, DEFAULT, True)

    assert wall(result, NEW_YORK) == "2026-03-09 08:00"
    assert result == datetime(2026, 3, 9, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("tz", "end", "at", "fold", "expected_utc"),
    [
        # 01:15 happens twice; the second (EST) one is quiet until 01:30 EST, not 01:30 EDT,
        # which would be an hour before `at` itself
        (NEW_YORK, time(1, 30), "2026-11-01 01:15", 1, "2026-11-01 06:30"),
        (NEW_YORK, time(1, 30), "2026-11-01 01:15", 0, "2026-11-01 05:30"),
        (BERLIN, time(2, 30), "2026-10-25 02:15", 1, "2026-10-25 01:30"),
        (BERLIN, time(2, 30), "2026-10-25 02:15", 0, "2026-10-25 00:30"),
    ],
)
def test_a_quiet_end_inside_the_repeated_hour_resolves_to_the_right_pass(
    tz: ZoneInfo, end: time, at: str, fold: int, expected_utc: str
) -> None:
    quiet = QuietHours(start=time(21, 0), end=end)

    result = next_allowed_instant(local(tz, at, fold=fold), tz, quiet, False)

    assert result == datetime.fromisoformat(expected_utc).replace(tzinfo=UTC)


@pytest.mark.parametrize(
    ("tz", "at", "expected_utc"),
    [
        (NEW_YORK, "2026-03-07 22:00", "2026-03-08 07:00"),  # 03:00 EDT
        (BERLIN, "2026-03-28 22:00", "2026-03-29 01:00"),  # 03:00 CEST
    ],
)
def test_a_quiet_end_inside_the_spring_forward_gap_resumes_when_the_gap_ends(
    tz: ZoneInfo, at: str, expected_utc: str
) -> None:
    ends_in_gap = QuietHours(start=time(21, 0), end=time(2, 30))

    result = next_allowed_instant(local(tz, at), tz, ends_in_gap, False)

    assert result == datetime.fromisoformat(expected_utc).replace(tzinfo=UTC)


def is_allowed(instant: datetime, tz: ZoneInfo, quiet: QuietHours, weekends: bool) -> bool:
    """The rule stated from scratch, as the oracle below uses it."""
    clock = instant.astimezone(tz)
    if weekends and clock.weekday() >= 5:
        return False
    if not quiet.enabled:
        return True
    t = clock.time()
    if quiet.start < quiet.end:
        return not quiet.start <= t < quiet.end
    return quiet.end <= t < quiet.start


def first_allowed(at: datetime, tz: ZoneInfo, quiet: QuietHours, weekends: bool) -> datetime:
    """Brute force: `at`, else the first whole UTC minute after it that is allowed."""
    candidate = at.astimezone(UTC)
    if is_allowed(candidate, tz, quiet, weekends):
        return candidate
    candidate = candidate.replace(second=0, microsecond=0)
    while True:
        candidate += timedelta(minutes=1)
        if is_allowed(candidate, tz, quiet, weekends):
            return candidate


def test_agrees_with_a_brute_force_scan_around_dst_changes() -> None:
    """Random windows (minute boundaries, both kinds) and instants around all four DST days.
    Quiet ends inside the 02:00-03:00 spring gap are included."""
    rng = random.Random(6_006)
    days = [datetime(2026, m, d, 12, tzinfo=UTC) for m, d in ((3, 8), (11, 1), (3, 29), (10, 25))]
    checked = 0
    while checked < 300:
        tz = rng.choice(ZONES)
        start, end = (time(rng.randrange(24), rng.choice((0, 15, 30, 59))) for _ in range(2))
        if start == end:
            continue
        quiet = QuietHours(enabled=rng.random() < 0.9, start=start, end=end)
        weekends = rng.random() < 0.3
        at = rng.choice(days) + timedelta(seconds=rng.randint(-2 * 86_400, 2 * 86_400))

        expected = first_allowed(at, tz, quiet, weekends)
        assert next_allowed_instant(at, tz, quiet, weekends) == expected, (at, tz, quiet, weekends)
        checked += 1
