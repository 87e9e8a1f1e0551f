"""The message state machine's rule (domain.execution.feedback) and how a notification event is
read (domain.events.feedback), case by case."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from domain.audience.model import SuppressionReason
from domain.events.feedback import FeedbackHandler, read_notification, suppression_reason
from domain.events.intake import RejectedEventError
from domain.events.model import InboundEvent
from domain.execution.feedback import (
    BounceType,
    Progress,
    Report,
    advance,
    newly_reached,
)
from domain.execution.model import MessageStatus as S

T0 = datetime(2026, 6, 3, 12, 0, tzinfo=UTC)


def at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


def fold(*reports: Report, start: Progress | None = None) -> Progress:
    progress = start or Progress()
    for report in reports:
        progress = advance(progress, report)
    return progress


def test_a_report_implies_the_progress_before_it_with_its_instant() -> None:
    progress = fold(Report(S.CLICKED, at(5)))
    assert progress.status is S.CLICKED
    assert progress.reached() == {
        S.SENT: at(5),
        S.DELIVERED: at(5),
        S.OPENED: at(5),
        S.CLICKED: at(5),
    }


def test_a_late_delivery_report_neither_moves_back_nor_loses_the_earlier_instant() -> None:
    progress = fold(Report(S.SENT, at(0)), Report(S.OPENED, at(3)), Report(S.DELIVERED, at(9)))
    assert progress.status is S.OPENED
    assert progress.sent_at == at(0)
    assert progress.delivered_at == at(3)  # the open proved delivery at 3 already


def test_an_earlier_late_report_moves_the_instant_earlier() -> None:
    progress = fold(Report(S.OPENED, at(3)), Report(S.DELIVERED, at(1)))
    assert (progress.status, progress.delivered_at, progress.opened_at) == (S.OPENED, at(1), at(3))


def test_the_hand_over_mark_after_a_delivery_report_keeps_the_message_delivered() -> None:
    progress = fold(Report(S.DELIVERED, at(1)), Report(S.SENT, at(2)))
    assert (progress.status, progress.sent_at, progress.delivered_at) == (S.DELIVERED, at(1), at(1))


@pytest.mark.parametrize("terminal", [S.FAILED, S.BOUNCED, S.UNSUBSCRIBED])
def test_a_terminal_status_outranks_every_progress_report(terminal: S) -> None:
    progress = fold(Report(terminal, at(2)), Report(S.CLICKED, at(4)))
    assert progress.status is terminal
    assert progress.clicked_at == at(4)  # the click happened: its instant is kept


def test_terminal_statuses_rank_failed_then_bounced_then_unsubscribed() -> None:
    assert fold(Report(S.BOUNCED, at(1)), Report(S.FAILED, at(0))).status is S.BOUNCED
    assert fold(Report(S.UNSUBSCRIBED, at(1)), Report(S.BOUNCED, at(2))).status is S.UNSUBSCRIBED


def test_a_hard_bounce_wins_over_a_soft_one_in_either_order() -> None:
    soft = Report(S.BOUNCED, at(1), BounceType.SOFT, "mailbox full")
    hard = Report(S.BOUNCED, at(2), BounceType.HARD, "no such user")
    for order in ((soft, hard), (hard, soft)):
        progress = fold(*order)
        assert (progress.bounce_type, progress.bounced_at) == (BounceType.HARD, at(1))
        assert progress.error == "mailbox full"  # the earliest report of the final status


def test_messages_never_handed_over_ignore_reports() -> None:
    for final in (S.SUPPRESSED, S.CANCELLED):
        start = Progress(status=final)
        assert advance(start, Report(S.DELIVERED, at(1))) is start


def test_a_report_that_changes_nothing_returns_the_same_progress() -> None:
    progress = fold(Report(S.DELIVERED, at(1)))
    assert advance(progress, Report(S.DELIVERED, at(5))) == progress
    assert advance(progress, Report(S.SENT, at(3))) == progress


def test_newly_reached_lists_the_statuses_a_report_added() -> None:
    before = fold(Report(S.SENT, at(0)))
    after = advance(before, Report(S.OPENED, at(2)))
    assert newly_reached(before, after) == [S.DELIVERED, S.OPENED]
    assert newly_reached(after, advance(after, Report(S.DELIVERED, at(1)))) == []


def test_only_reportable_statuses_make_a_report() -> None:
    with pytest.raises(ValueError, match="not a reportable"):
        Report(S.QUEUED, at(0))


def event(event_type: str, **properties: object) -> InboundEvent:
    return InboundEvent("org", "e1", event_type, T0, properties=properties)


def test_a_notification_is_read_with_its_own_instant_bounce_type_and_link() -> None:
    read = read_notification(
        event(
            "notification.bounced",
            message_id="m1",
            bounce_type="Permanent",
            error="no such user",
            occurred_at="2026-06-03T12:05:00Z",
        )
    )
    assert read.message_id == "m1"
    assert read.report == Report(S.BOUNCED, at(5), BounceType.HARD, "no such user")
    assert suppression_reason(read) is SuppressionReason.BOUNCED
    clicked = read_notification(
        event("notification.clicked", message_id="m1", link_url="https://x")
    )
    assert (clicked.report.at, clicked.link_url) == (T0, "https://x")
    assert suppression_reason(clicked) is None


def test_a_complaint_unsubscribes_and_suppresses() -> None:
    read = read_notification(event("notification.complained", message_id="m1"))
    assert read.report.status is S.UNSUBSCRIBED
    assert suppression_reason(read) is SuppressionReason.COMPLAINED


def test_an_unsubscribe_the_provider_reports_suppresses_the_address() -> None:
    read = read_notification(event("notification.unsubscribed", message_id="m1"))
    assert read.report.status is S.UNSUBSCRIBED
    assert suppression_reason(read) is SuppressionReason.UNSUBSCRIBED


def test_a_soft_bounce_suppresses_nothing() -> None:
    read = read_notification(event("notification.bounced", message_id="m1", bounce_type="soft"))
    assert suppression_reason(read) is None


@pytest.mark.parametrize(
    ("properties", "reason"),
    [
        ({}, "without a message_id"),
        ({"message_id": 7}, "without a message_id"),
        ({"message_id": "m1", "occurred_at": "yesterday"}, "not an RFC 3339"),
        ({"message_id": "m1", "occurred_at": 12}, "RFC 3339"),
    ],
)
def test_an_unusable_notification_is_rejected_with_its_reason(
    properties: dict[str, object], reason: str
) -> None:
    with pytest.raises(RejectedEventError, match=reason):
        read_notification(event("notification.delivered", **properties))


NOTIFICATIONS = [
    "notification.delivered",
    "notification.failed",
    "notification.opened",
    "notification.clicked",
    "notification.bounced",
    "notification.unsubscribed",
    "notification.complained",
]


def test_the_handler_accepts_the_notification_statuses_only() -> None:
    handler = FeedbackHandler(ids=None, clock=None)  # type: ignore[arg-type]
    others = ["notification.send.email", "notification.", "user.deleted", "order.completed"]
    assert [t for t in NOTIFICATIONS + others if handler.accepts(t)] == NOTIFICATIONS
