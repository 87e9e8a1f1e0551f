"""When schedules fire: the five-minute lead time (BR-CAM-001.3), cron validity and bounds, and
cron firings in the campaign's own time zone across daylight-saving changes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from domain.campaigns.model import CronSchedule, Schedule
from domain.campaigns.scheduling import next_cron_firing, validate_schedule
from domain.kernel.errors import ValidationError

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def violated_fields(schedule: Schedule, now: datetime = NOW) -> list[str]:
    with pytest.raises(ValidationError) as caught:
        validate_schedule(schedule, now)
    return [v.field for v in caught.value.violations]


# --- one-time schedules --------------------------------------------------------------------------


def test_scheduled_at_exactly_five_minutes_ahead_is_accepted() -> None:
    at = NOW + timedelta(minutes=5)

    assert validate_schedule(Schedule(scheduled_at=at), NOW) == at


def test_scheduled_at_one_second_short_of_five_minutes_is_rejected() -> None:
    at = NOW + timedelta(minutes=5) - timedelta(seconds=1)

    assert violated_fields(Schedule(scheduled_at=at)) == ["scheduled_at"]


@pytest.mark.parametrize(
    ("lead", "shown"), [(timedelta(minutes=5), "5 minutes"), (timedelta(seconds=90), "90 seconds")]
)
def test_the_lead_time_error_names_the_lead_the_setting_and_send_now(
    lead: timedelta, shown: str
) -> None:
    with pytest.raises(ValidationError) as caught:
        validate_schedule(Schedule(scheduled_at=NOW + timedelta(seconds=30)), NOW, lead)

    [violation] = caught.value.violations
    assert violation.description.startswith(f"must be at least {shown} in the future")
    assert "CAMPAIGN_SCHEDULE_MIN_LEAD_SECONDS" in violation.description
    assert "SendCampaignNow" in violation.description


def test_scheduled_at_in_the_past_is_rejected() -> None:
    assert violated_fields(Schedule(scheduled_at=NOW - timedelta(days=1))) == ["scheduled_at"]


def test_scheduled_at_in_another_offset_is_compared_as_an_instant() -> None:
    tokyo = timezone(timedelta(hours=9))
    at = datetime(2026, 3, 2, 21, 5, tzinfo=tokyo)  # 12:05 UTC, exactly five minutes ahead

    assert validate_schedule(Schedule(scheduled_at=at), NOW) == at
    assert violated_fields(Schedule(scheduled_at=at - timedelta(seconds=1))) == ["scheduled_at"]


def test_schedule_with_neither_instant_nor_cron_is_rejected() -> None:
    assert violated_fields(Schedule()) == ["schedule"]


def test_schedule_with_both_instant_and_cron_is_rejected() -> None:
    both = Schedule(scheduled_at=NOW + timedelta(days=1), cron=CronSchedule("0 9 * * *"))

    assert violated_fields(both) == ["schedule"]


# --- cron schedules ------------------------------------------------------------------------------


def test_valid_cron_returns_its_first_firing_in_utc() -> None:
    first = validate_schedule(Schedule(cron=CronSchedule("0 9 * * *")), NOW)

    assert first == utc("2026-03-03T09:00")
    assert first.utcoffset() == timedelta(0)


def test_cron_firing_exactly_five_minutes_ahead_is_the_first_firing() -> None:
    now = utc("2026-03-02T08:55")

    assert validate_schedule(Schedule(cron=CronSchedule("0 9 * * *")), now) == utc(
        "2026-03-02T09:00"
    )


def test_cron_firing_less_than_five_minutes_ahead_is_skipped() -> None:
    now = utc("2026-03-02T08:55:01")

    assert validate_schedule(Schedule(cron=CronSchedule("0 9 * * *")), now) == utc(
        "2026-03-03T09:00"
    )


def test_cron_in_a_time_zone_fires_at_local_wall_clock_time() -> None:
    cron = CronSchedule("0 9 * * *", timezone="Asia/Tokyo")

    assert validate_schedule(Schedule(cron=cron), NOW) == utc("2026-03-03T00:00")


@pytest.mark.parametrize(
    "expression",
    [
        "61 * * * *",
        "* * * *",
        "not a cron at all",
        "",
        "*/0 * * * *",
        "0 0 1 1 * 2030 extra",
        "* * * * * *",  # croniter reads a sixth field as seconds: every second
        "*/5 * * * * *",
        "0 9 * * * 0",
        "@hourly",
    ],
)
def test_invalid_cron_expression_is_rejected(expression: str) -> None:
    assert violated_fields(Schedule(cron=CronSchedule(expression))) == ["cron.expression"]


def test_a_six_field_expression_is_rejected_with_the_field_count_in_the_message() -> None:
    with pytest.raises(ValidationError) as caught:
        validate_schedule(Schedule(cron=CronSchedule("* * * * * *")), NOW)

    assert "5 fields" in caught.value.violations[0].description


@pytest.mark.parametrize(
    "expression",
    [
        "* * * * *",  # every minute
        "*/30 * * * *",
        "0,1 * * * *",  # hourly, but twice a minute apart
        "0,59 9 * * *",  # daily, 59 minutes apart
        "0,30 23 * * 1",  # weekly, 30 minutes apart
    ],
)
def test_cron_firing_closer_than_an_hour_is_rejected(expression: str) -> None:
    assert violated_fields(Schedule(cron=CronSchedule(expression))) == ["cron.expression"]


@pytest.mark.parametrize(
    "expression", ["0 * * * *", "30 8,9 * * *", "0 */2 * * *", "0 9 * * MON", "0 0 1 1 *"]
)
def test_cron_firing_at_least_an_hour_apart_is_accepted(expression: str) -> None:
    assert validate_schedule(Schedule(cron=CronSchedule(expression)), NOW) > NOW


def test_the_minimum_interval_is_configurable() -> None:
    daily = timedelta(days=1)
    hourly = Schedule(cron=CronSchedule("0 * * * *"))
    close_across_midnight = Schedule(cron=CronSchedule("0 0,23 1,31 * *"))

    assert validate_schedule(hourly, NOW, min_interval=timedelta(minutes=1)) > NOW
    for schedule in (hourly, close_across_midnight):
        with pytest.raises(ValidationError) as caught:
            validate_schedule(schedule, NOW, min_interval=daily)
        assert [v.field for v in caught.value.violations] == ["cron.expression"]
        assert "at least 24 hours apart" in caught.value.violations[0].description


@pytest.mark.parametrize("timezone", ["Mars/Olympus_Mons", "", "../../etc/passwd"])
def test_unknown_time_zone_is_rejected(timezone: str) -> None:
    cron = CronSchedule("0 9 * * *", timezone=timezone)

    assert violated_fields(Schedule(cron=cron)) == ["cron.timezone"]


@pytest.mark.parametrize("gap", [timedelta(0), timedelta(hours=-12)])
def test_cron_ending_before_or_when_it_starts_is_rejected(gap: timedelta) -> None:
    start = NOW + timedelta(days=1)
    cron = CronSchedule("0 9 * * *", start_at=start, end_at=start + gap)

    assert violated_fields(Schedule(cron=cron)) == ["cron.end_at"]


@pytest.mark.parametrize("end", [NOW, NOW - timedelta(seconds=1)])
def test_cron_ending_in_the_past_is_rejected(end: datetime) -> None:
    cron = CronSchedule("0 9 * * *", end_at=end)

    assert violated_fields(Schedule(cron=cron)) == ["cron.end_at"]


def test_cron_that_does_not_fire_before_its_end_is_rejected() -> None:
    cron = CronSchedule("0 0 1 1 *", end_at=NOW + timedelta(days=30))

    assert violated_fields(Schedule(cron=cron)) == ["cron.expression"]


def test_cron_ending_inside_the_five_minute_lead_is_rejected() -> None:
    cron = CronSchedule("0 * * * *", end_at=NOW + timedelta(minutes=2))

    assert violated_fields(Schedule(cron=cron)) == ["cron.expression"]


def test_every_cron_problem_is_reported_at_once() -> None:
    cron = CronSchedule("bad", timezone="Nowhere/Else", end_at=NOW - timedelta(days=1))

    assert violated_fields(Schedule(cron=cron)) == [
        "cron.timezone",
        "cron.expression",
        "cron.end_at",
    ]


@pytest.mark.parametrize("expression", ["0 0 31 2 *", "0 0 30 2 *"])
def test_cron_for_a_date_that_never_exists_is_rejected(expression: str) -> None:
    assert violated_fields(Schedule(cron=CronSchedule(expression))) == ["cron.expression"]


# --- next_cron_firing ----------------------------------------------------------------------------

BERLIN_9AM = CronSchedule("0 9 * * *", timezone="Europe/Berlin")


@pytest.mark.parametrize(
    ("after", "expected"),
    [
        # CET (UTC+1) the day before clocks go forward on 2026-03-29
        ("2026-03-27T10:00", "2026-03-28T08:00"),
        # CEST (UTC+2) on the day clocks go forward
        ("2026-03-28T10:00", "2026-03-29T07:00"),
        # CEST the day before clocks go back on 2026-10-25
        ("2026-10-23T10:00", "2026-10-24T07:00"),
        # CET on the day clocks go back
        ("2026-10-24T10:00", "2026-10-25T08:00"),
    ],
)
def test_berlin_9am_cron_follows_daylight_saving_time(after: str, expected: str) -> None:
    assert next_cron_firing(BERLIN_9AM, utc(after)) == utc(expected)


@pytest.mark.parametrize(
    ("after", "expected"),
    [("2026-03-07T15:00", "2026-03-08T13:00"), ("2026-03-06T15:00", "2026-03-07T14:00")],
)
def test_new_york_9am_cron_follows_daylight_saving_time(after: str, expected: str) -> None:
    cron = CronSchedule("0 9 * * *", timezone="America/New_York")

    assert next_cron_firing(cron, utc(after)) == utc(expected)


def test_next_firing_is_strictly_after_the_given_instant() -> None:
    assert next_cron_firing(BERLIN_9AM, utc("2026-07-15T07:00")) == utc("2026-07-16T07:00")


def test_next_firing_is_returned_in_utc() -> None:
    firing = next_cron_firing(BERLIN_9AM, utc("2026-07-15T10:00"))

    assert firing is not None
    assert firing.tzinfo is not None
    assert firing.utcoffset() == timedelta(0)


def test_firing_at_start_at_is_included() -> None:
    cron = CronSchedule("0 9 * * *", "Europe/Berlin", start_at=utc("2026-07-20T07:00"))

    assert next_cron_firing(cron, utc("2026-07-01T00:00")) == utc("2026-07-20T07:00")


def test_firings_before_start_at_are_skipped() -> None:
    cron = CronSchedule("0 9 * * *", "Europe/Berlin", start_at=utc("2026-07-20T07:00:01"))

    assert next_cron_firing(cron, utc("2026-07-01T00:00")) == utc("2026-07-21T07:00")


def test_start_at_in_the_past_does_not_hold_back_later_firings() -> None:
    cron = CronSchedule("0 9 * * *", "Europe/Berlin", start_at=utc("2026-01-01T00:00"))

    assert next_cron_firing(cron, utc("2026-07-15T10:00")) == utc("2026-07-16T07:00")


def test_firing_at_end_at_is_included() -> None:
    cron = CronSchedule("0 9 * * *", "Europe/Berlin", end_at=utc("2026-07-16T07:00"))

    assert next_cron_firing(cron, utc("2026-07-15T10:00")) == utc("2026-07-16T07:00")


def test_no_firing_after_end_at() -> None:
    cron = CronSchedule("0 9 * * *", "Europe/Berlin", end_at=utc("2026-07-16T06:59:59"))

    assert next_cron_firing(cron, utc("2026-07-15T10:00")) is None
