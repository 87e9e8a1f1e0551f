"""The ETA of EstimateAudience: the windows a run sends in (timing.window_end with
next_allowed_instant) and the walk through them under the rate limits (domain.execution.eta)."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from domain.audience.contacts import Contact
from domain.audience.model import Recipient
from domain.campaigns.model import QuietHours, Throttle
from domain.execution.assignment import Allocation
from domain.execution.eta import Sending, completion
from domain.execution.timing import next_allowed_instant, window_end
from domain.kernel.channels import Channel

BERLIN, NEW_YORK = ZoneInfo("Europe/Berlin"), ZoneInfo("America/New_York")
NIGHTS = QuietHours()  # 21:00-08:00, the default
NOON_BREAK = QuietHours(start=time(12), end=time(14))
OFF = QuietHours(enabled=False)
EMAIL = {Channel.EMAIL: 0.36, Channel.SMS: 3.6}  # seconds per message: 10,000/h and 1,000/h
WEDNESDAY_10_BERLIN = datetime(2026, 3, 4, 9, 0, tzinfo=UTC)  # 10:00 local
WEDNESDAY_23_BERLIN = datetime(2026, 3, 4, 22, 0, tzinfo=UTC)  # 23:00 local


def local(at: datetime, tz: ZoneInfo) -> datetime:
    return at.astimezone(tz).replace(tzinfo=None)


def test_an_open_window_ends_when_quiet_hours_begin() -> None:
    end = window_end(WEDNESDAY_10_BERLIN, BERLIN, NIGHTS, False)

    assert end is not None
    assert local(end, BERLIN) == datetime(2026, 3, 4, 21, 0)


def test_a_same_day_quiet_window_and_a_weekend_close_whichever_comes_first() -> None:
    friday_15 = datetime(2026, 3, 6, 14, 0, tzinfo=UTC)

    noon = window_end(WEDNESDAY_10_BERLIN, BERLIN, NOON_BREAK, True)
    weekend = window_end(friday_15, BERLIN, NOON_BREAK, True)

    assert noon is not None
    assert weekend is not None
    assert local(noon, BERLIN) == datetime(2026, 3, 4, 12, 0)
    assert local(weekend, BERLIN) == datetime(2026, 3, 7, 0, 0)  # Saturday, before Sat noon
    assert window_end(WEDNESDAY_10_BERLIN, BERLIN, OFF, False) is None


def test_windows_tile_time_with_next_allowed_instant_across_a_dst_change() -> None:
    at = datetime(2026, 3, 28, 12, 0, tzinfo=UTC)  # Saturday; Berlin springs forward on Sunday
    opened = next_allowed_instant(at, BERLIN, NIGHTS, True)
    closes = window_end(opened, BERLIN, NIGHTS, True)

    assert local(opened, BERLIN) == datetime(2026, 3, 30, 8, 0)  # Monday morning
    assert closes is not None
    assert local(closes, BERLIN) == datetime(2026, 3, 30, 21, 0)
    assert next_allowed_instant(closes, BERLIN, NIGHTS, True) > closes


def test_without_local_rules_the_eta_is_the_throttle_time() -> None:
    eta = completion(
        WEDNESDAY_23_BERLIN,
        {(Channel.EMAIL, "Europe/Berlin"): 1000, (Channel.SMS, "Asia/Tokyo"): 10},
        EMAIL,
        Throttle(quiet_hours=OFF),
    )

    assert eta == timedelta(seconds=1000 * 0.36 + 10 * 3.6)


def test_recipients_in_their_night_wait_for_their_morning_then_the_throttle_spreads_them() -> None:
    eta = completion(
        WEDNESDAY_23_BERLIN, {(Channel.EMAIL, "Europe/Berlin"): 100}, EMAIL, Throttle()
    )

    assert WEDNESDAY_23_BERLIN + eta == datetime(2026, 3, 5, 7, 0, 36, tzinfo=UTC)  # 08:00:36


def test_a_run_longer_than_a_day_sends_only_in_the_windows() -> None:
    # 20 hours of email at 10,000/h, 13 open hours a day: 10:00-21:00, 08:00-17:00 next day
    eta = completion(
        WEDNESDAY_10_BERLIN, {(Channel.EMAIL, "Europe/Berlin"): 200_000}, EMAIL, Throttle()
    )

    assert local(WEDNESDAY_10_BERLIN + eta, BERLIN) == datetime(2026, 3, 5, 17, 0)


def test_weekends_are_skipped_when_excluded() -> None:
    friday_20 = datetime(2026, 3, 6, 19, 0, tzinfo=UTC)  # 20:00 in Berlin
    load = {(Channel.EMAIL, "Europe/Berlin"): 20_000}  # two hours of sending

    with_weekends = completion(friday_20, load, EMAIL, Throttle())
    without = completion(friday_20, load, EMAIL, Throttle(exclude_weekends=True))

    assert local(friday_20 + with_weekends, BERLIN) == datetime(2026, 3, 7, 9, 0)
    assert local(friday_20 + without, BERLIN) == datetime(2026, 3, 9, 9, 0)


def test_each_zone_follows_its_own_clock_and_the_last_one_decides() -> None:
    # 23:00 in Berlin (quiet until 08:00), 17:00 in New York (open until 21:00)
    eta = completion(
        WEDNESDAY_23_BERLIN,
        {(Channel.EMAIL, "Europe/Berlin"): 10, (Channel.EMAIL, "America/New_York"): 10},
        EMAIL,
        Throttle(),
    )

    assert local(WEDNESDAY_23_BERLIN + eta, BERLIN) == datetime(2026, 3, 5, 8, 0, 3, 600000)


def test_an_unknown_zone_counts_as_utc_as_in_a_run() -> None:
    eta = completion(WEDNESDAY_23_BERLIN, {(Channel.EMAIL, "Mars/Olympus"): 1}, EMAIL, Throttle())

    assert WEDNESDAY_23_BERLIN + eta == datetime(2026, 3, 5, 8, 0, 0, 360000, tzinfo=UTC)


def test_a_tally_follows_holdout_arms_and_channel_eligibility() -> None:
    sending = Sending(
        "c-1",
        Allocation.for_campaign(0, ()),
        {"": (Channel.EMAIL, Channel.SMS)},
        all_channels=False,
    )
    people = [
        Recipient(Contact("a", email="a@x.io", email_opted_in=True, timezone="Europe/Berlin")),
        Recipient(
            Contact("b", email="b@x.io", email_opted_in=True, phone="+14155550100",
                    sms_opted_in=True, timezone="America/New_York"),
            frozenset({Channel.EMAIL}),
        ),
        Recipient(Contact("c")),  # reachable on neither
    ]  # fmt: skip
    tally: Counter[tuple[Channel, str]] = Counter()

    seen = sending.tally(people, tally)

    assert seen == 3
    assert tally == {(Channel.EMAIL, "Europe/Berlin"): 1, (Channel.SMS, "America/New_York"): 1}
