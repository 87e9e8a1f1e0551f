"""Where a message goes in time (domain.execution.slots): held without a slot while its
recipient is in quiet hours or a weekend, else at its throttle slot, QUEUED only when that slot
is within the hand-over horizon."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from domain.campaigns.model import QuietHours, Throttle
from domain.execution.model import MessageStatus
from domain.execution.slots import LocalRules, place

NOON_UTC = datetime(2026, 6, 3, 12, 6, tzinfo=UTC)  # a Wednesday; 21:06 in Tokyo
TOKYO = ZoneInfo("Asia/Tokyo")
TOKYO_MORNING = datetime(2026, 6, 4, 8, 0, tzinfo=TOKYO).astimezone(UTC)
HORIZON = NOON_UTC + timedelta(milliseconds=100)


def test_no_local_rules_means_nothing_is_held() -> None:
    assert LocalRules.of(Throttle(quiet_hours=QuietHours(enabled=False))) is None


def test_a_recipient_in_quiet_hours_now_is_held_until_the_window_ends() -> None:
    local = LocalRules.of(Throttle())
    assert local is not None

    assert local.held_until("Asia/Tokyo", NOON_UTC) == TOKYO_MORNING
    assert local.held_until("UTC", NOON_UTC) is None
    assert local.held_until("no/such-zone", NOON_UTC) is None  # an unknown zone counts as UTC


def test_a_weekend_holds_until_monday() -> None:
    local = LocalRules.of(Throttle(quiet_hours=QuietHours(enabled=False), exclude_weekends=True))
    assert local is not None
    saturday = datetime(2026, 6, 6, 10, 0, tzinfo=UTC)

    assert local.held_until("UTC", saturday) == datetime(2026, 6, 8, 0, 0, tzinfo=UTC)


def test_a_slot_within_the_horizon_is_queued_a_later_one_deferred() -> None:
    assert place(NOON_UTC, None, "UTC", HORIZON) == (NOON_UTC, MessageStatus.QUEUED, False)
    later = NOON_UTC + timedelta(minutes=1)
    assert place(later, None, "UTC", HORIZON) == (later, MessageStatus.DEFERRED, False)


def test_a_released_message_stays_deferred_even_when_its_slot_is_now() -> None:
    assert place(NOON_UTC, None, "UTC", None) == (NOON_UTC, MessageStatus.DEFERRED, False)


def test_a_slot_inside_the_recipients_quiet_hours_holds_the_message_again() -> None:
    local = LocalRules.of(Throttle(quiet_hours=QuietHours(start=time(21), end=time(8))))
    assert local is not None
    night = datetime(2026, 6, 3, 22, 30, tzinfo=UTC)

    assert place(night, local, "UTC", HORIZON) == (
        datetime(2026, 6, 4, 8, 0, tzinfo=UTC),
        MessageStatus.DEFERRED,
        True,
    )
    assert place(NOON_UTC, local, "UTC", HORIZON) == (NOON_UTC, MessageStatus.QUEUED, False)
