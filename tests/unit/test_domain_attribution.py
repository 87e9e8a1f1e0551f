"""Conversion attribution (domain.events.attribution) and the counters' deltas of its credits
(domain.events.conversion_metrics): models, window edges, value and its split, statuses never
credited, the holdout baseline."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from domain.campaigns.model import AttributionModel, Conversion
from domain.events.attribution import (
    campaign_credits,
    conversion_instant,
    credited_touches,
    event_value,
    split,
)
from domain.events.conversion_metrics import conversion_deltas
from domain.events.conversion_model import Credit, HoldoutMembership, Touch
from domain.events.model import InboundEvent
from domain.execution.model import MessageStatus
from domain.metrics.model import Cell, MetricTotals

T0 = datetime(2030, 1, 10, 12, tzinfo=UTC)  # the conversion's instant
S = MessageStatus
LAST = Conversion("order.completed")  # last touch, 7 days
FIRST = Conversion("order.completed", 7, AttributionModel.FIRST_TOUCH)
LINEAR = Conversion("order.completed", 7, AttributionModel.LINEAR)


def touch(
    message_id: str,
    days_before: float,
    status: MessageStatus = S.DELIVERED,
    *,
    campaign_id: str = "c-1",
    variant_id: str = "a",
    channel: str = "email",
) -> Touch:
    return Touch(
        message_id=message_id,
        campaign_id=campaign_id,
        execution_id="e-1",
        variant_id=variant_id,
        channel=channel,
        status=status,
        sent_at=T0 - timedelta(days=days_before),
    )


def order(value: object = 90, **extra: object) -> InboundEvent:
    return InboundEvent(
        organization_id="acme",
        event_id="ord-1",
        event_type="order.completed",
        occurred_at=T0,
        user_id="u1",
        properties={"value": value, **extra},
    )


def ids(touches: list[Touch]) -> list[str]:
    return [t.message_id for t in touches]


THREE = [touch("m-mid", 3), touch("m-old", 6), touch("m-new", 1)]


def test_last_touch_credits_the_latest_message_before_the_event() -> None:
    assert ids(credited_touches(LAST, THREE, T0)) == ["m-new"]


def test_first_touch_credits_the_earliest_message_in_the_window() -> None:
    assert ids(credited_touches(FIRST, [*THREE, touch("m-too-old", 8)], T0)) == ["m-old"]


def test_linear_credits_every_message_in_the_window_earliest_first() -> None:
    assert ids(credited_touches(LINEAR, THREE, T0)) == ["m-old", "m-mid", "m-new"]


def test_the_window_includes_both_ends_and_nothing_outside() -> None:
    edge = touch("m-edge", 7)  # exactly the window before
    now = touch("m-now", 0)  # at the event's instant
    outside = [
        Touch(
            "m-early",
            "c-1",
            "e-1",
            "a",
            "email",
            S.DELIVERED,
            T0 - timedelta(days=7, microseconds=1),
        ),
        Touch("m-after", "c-1", "e-1", "a", "email", S.DELIVERED, T0 + timedelta(microseconds=1)),
    ]
    assert ids(credited_touches(LINEAR, [edge, now, *outside], T0)) == ["m-edge", "m-now"]
    assert credited_touches(LAST, outside, T0) == []


def test_a_one_day_window_excludes_a_message_two_days_old() -> None:
    one_day = Conversion("order.completed", 1)
    assert credited_touches(one_day, [touch("m-1", 2)], T0) == []
    assert ids(credited_touches(one_day, [touch("m-1", 2), touch("m-2", 0.5)], T0)) == ["m-2"]


@pytest.mark.parametrize("status", [S.BOUNCED, S.FAILED, S.UNSUBSCRIBED])
def test_a_bounced_failed_or_unsubscribed_message_is_never_credited(status: S) -> None:
    # The latest message bounced: last touch credits the one before it.
    touches = [touch("m-ok", 3), touch("m-bad", 1, status)]
    assert ids(credited_touches(LAST, touches, T0)) == ["m-ok"]
    assert credited_touches(LAST, [touch("m-bad", 1, status)], T0) == []


def test_a_message_never_sent_is_never_credited() -> None:
    unsent = Touch("m-q", "c-1", "e-1", "a", "email", S.QUEUED, None)
    assert credited_touches(LAST, [unsent], T0) == []


def test_an_already_converted_or_clicked_message_is_credited_again() -> None:
    touches = [touch("m-1", 2, S.CONVERTED), touch("m-2", 3, S.CLICKED)]
    assert ids(credited_touches(LINEAR, touches, T0)) == ["m-2", "m-1"]


def test_ties_in_time_go_by_message_id() -> None:
    touches = [touch("m-b", 1), touch("m-a", 1)]
    assert ids(credited_touches(LAST, touches, T0)) == ["m-b"]
    assert ids(credited_touches(FIRST, touches, T0)) == ["m-a"]


@pytest.mark.parametrize(
    ("raw", "value"),
    [
        (59.9, 59.9),
        (12, 12.0),
        ("59.90", 59.9),
        (" 7 ", 7.0),
        (None, 0.0),
        ("abc", 0.0),
        (True, 0.0),
        (-5, 0.0),
        (float("nan"), 0.0),
        (float("inf"), 0.0),
        ({"amount": 3}, 0.0),
    ],
)
def test_the_value_is_a_finite_non_negative_number_else_zero(raw: object, value: float) -> None:
    assert event_value({"value": raw}) == pytest.approx(value)


def test_a_missing_value_is_zero() -> None:
    assert event_value({}) == 0.0


def test_the_value_splits_equally() -> None:
    assert split(90.0, 3) == [30.0, 30.0, 30.0]
    assert split(10.0, 1) == [10.0]
    assert split(10.0, 0) == []


def test_linear_credits_share_the_value_in_each_messages_cell() -> None:
    touches = [touch("m-1", 1, channel="sms"), touch("m-2", 2, variant_id="b"), touch("m-3", 3)]
    credits = campaign_credits(order(90), "c-1", LINEAR, touches=touches, memberships=[], at=T0)

    assert [(c.message_id, c.value_share) for c in credits] == [
        ("m-3", 30.0),
        ("m-2", 30.0),
        ("m-1", 30.0),
    ]
    assert {(c.user_id, c.event_id, c.converted_at, c.holdout) for c in credits} == {
        ("u1", "ord-1", T0, False)
    }
    assert conversion_deltas(credits) == {
        Cell("acme", "c-1", "e-1", "a", "email"): MetricTotals(conversion_value=30.0),
        Cell("acme", "c-1", "e-1", "b", "email"): MetricTotals(conversion_value=30.0),
        Cell("acme", "c-1", "e-1", "a", "sms"): MetricTotals(conversion_value=30.0),
    }


def test_only_the_campaigns_own_messages_are_credited() -> None:
    touches = [touch("m-1", 1, campaign_id="c-2"), touch("m-2", 2)]
    credits = campaign_credits(order(), "c-1", LAST, touches=touches, memberships=[], at=T0)
    assert [c.message_id for c in credits] == ["m-2"]


def test_a_holdout_member_is_credited_when_no_message_is() -> None:
    held = [
        HoldoutMembership("c-1", "e-old", T0 - timedelta(days=8)),  # outside the window
        HoldoutMembership("c-1", "e-1", T0 - timedelta(days=2)),
        HoldoutMembership("c-2", "e-9", T0 - timedelta(days=1)),  # another campaign
    ]
    credits = campaign_credits(order(40), "c-1", LAST, touches=[], memberships=held, at=T0)

    assert [(c.execution_id, c.message_id, c.holdout, c.value_share) for c in credits] == [
        ("e-1", "", True, 40.0)
    ]


def test_messages_win_over_a_holdout_membership() -> None:
    held = [HoldoutMembership("c-1", "e-0", T0 - timedelta(days=2))]
    credits = campaign_credits(
        order(), "c-1", LAST, touches=[touch("m-1", 1)], memberships=held, at=T0
    )
    assert [(c.message_id, c.holdout) for c in credits] == [("m-1", False)]


def test_nothing_in_the_window_credits_nothing() -> None:
    held = [HoldoutMembership("c-1", "e-0", T0 - timedelta(days=9))]
    assert (
        campaign_credits(order(), "c-1", LAST, touches=[touch("m", 9)], memberships=held, at=T0)
        == []
    )


def test_holdout_deltas_count_a_members_first_conversion_in_the_runs_holdout_cell() -> None:
    def holdout(first: bool, event_id: str) -> Credit:
        return Credit("acme", "u1", event_id, "c-1", "e-1", 25.0, T0, holdout=True,
                      first_for_member=first)  # fmt: skip

    deltas = conversion_deltas([holdout(True, "ord-1"), holdout(False, "ord-2")])

    assert deltas == {Cell("acme", "c-1", "e-1", "", ""): MetricTotals(holdout_converted=1)}


def test_a_zero_value_credit_adds_nothing() -> None:
    credit = Credit("acme", "u1", "ord-1", "c-1", "e-1", 0.0, T0, message_id="m-1")
    assert conversion_deltas([credit]) == {}


def test_the_conversion_instant_is_the_events_own_never_after_now() -> None:
    late = order()
    assert conversion_instant(late, T0 + timedelta(days=3)) == T0  # delivered late
    assert conversion_instant(late, T0 - timedelta(hours=1)) == T0 - timedelta(hours=1)
