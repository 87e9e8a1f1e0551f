"""The message state machine of delivery feedback (BR-CAM-005.1, EC-CAM-011): what a set of
status reports makes of a message, whatever order they arrive in.

Reports come late, twice and out of order (the provider's `opened` before its `delivered`, our own
hand-over mark after the sandbox's delivery report). The rule is a join, so it is commutative,
associative and idempotent: the same set of reports gives the same message in every order.

- Every status has a rank: queued and deferred 0 < sent 1 < delivered 2 < opened 3 < clicked 4 <
  converted 5 < failed 6 < bounced 7 < unsubscribed 8. The terminal statuses outrank every
  progress status. The message's status is the highest rank reached; a report of a lower rank
  never moves it back (it may still record its timestamp, below).
- A report of a progress status implies every progress status below it (a click was opened,
  delivered and sent), except a conversion; a conversion and a terminal report imply `sent` only
  (the message was handed over; a conversion is attributed to a message, it proves no open or
  click, and an SMS has none to report, so the open and click counts stay what was reported).
- The timestamp of every status reached is the earliest instant reported for it or for a status
  that implies it; so `sent_at <= delivered_at <= opened_at <= clicked_at` always holds, and
  `sent_at` is the earliest of all.
- `error` is the error of the earliest report of the final status (ties: the smaller text);
  `bounce_type` is `hard` once any bounce report said hard, else `soft` once any said soft; the
  provider's message id is the smallest non-empty one reported (they agree in practice).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, replace
from datetime import datetime

from domain.execution.model import Message, MessageStatus

PROGRESS = (
    MessageStatus.SENT,
    MessageStatus.DELIVERED,
    MessageStatus.OPENED,
    MessageStatus.CLICKED,
    MessageStatus.CONVERTED,
)
TERMINAL = (MessageStatus.FAILED, MessageStatus.BOUNCED, MessageStatus.UNSUBSCRIBED)
# Higher outranks lower. Statuses a message has before it is handed over rank 0; suppressed and
# cancelled messages were never handed over and get no reports (a stray one cannot move them).
RANK: dict[MessageStatus, int] = {
    MessageStatus.QUEUED: 0,
    MessageStatus.DEFERRED: 0,
    **{status: 1 + index for index, status in enumerate(PROGRESS + TERMINAL)},
}
REPORTABLE = frozenset(PROGRESS + TERMINAL)
FINAL_BEFORE_HAND_OVER = frozenset({MessageStatus.SUPPRESSED, MessageStatus.CANCELLED})
# The statuses whose timestamp a message keeps.
STAMPED = PROGRESS + TERMINAL


class BounceType(enum.StrEnum):
    NONE = ""
    SOFT = "soft"
    HARD = "hard"


_SEVERITY = {BounceType.NONE: 0, BounceType.SOFT: 1, BounceType.HARD: 2}


@dataclass(frozen=True, slots=True)
class Report:
    """One status report: a provider's notification, or our own hand-over mark (`sent`)."""

    status: MessageStatus
    at: datetime
    bounce_type: BounceType = BounceType.NONE
    error: str = ""
    provider_message_id: str = ""

    def __post_init__(self) -> None:
        if self.status not in REPORTABLE:
            raise ValueError(f"{self.status} is not a reportable message status")


@dataclass(frozen=True, slots=True)
class Progress:
    """The part of a message that reports change: its status and the first instant of every
    status reached (None: not reached)."""

    status: MessageStatus = MessageStatus.QUEUED
    sent_at: datetime | None = None
    delivered_at: datetime | None = None
    opened_at: datetime | None = None
    clicked_at: datetime | None = None
    converted_at: datetime | None = None
    failed_at: datetime | None = None
    bounced_at: datetime | None = None
    unsubscribed_at: datetime | None = None
    bounce_type: BounceType = BounceType.NONE
    error: str = ""
    provider_message_id: str = ""

    def at(self, status: MessageStatus) -> datetime | None:
        """When `status` was first reached (None: never, or it keeps no timestamp)."""
        return getattr(self, f"{status.value}_at") if status in STAMPED else None

    def reached(self) -> dict[MessageStatus, datetime]:
        return {s: t for s in STAMPED if (t := self.at(s)) is not None}


def implied(status: MessageStatus) -> tuple[MessageStatus, ...]:
    """The statuses a report of `status` proves reached, itself included."""
    if status in TERMINAL or status is MessageStatus.CONVERTED:
        return (MessageStatus.SENT, status)
    return PROGRESS[: PROGRESS.index(status) + 1]


def advance(progress: Progress, report: Report) -> Progress:
    """`progress` with one more report: the join described in the module docstring."""
    if progress.status in FINAL_BEFORE_HAND_OVER:
        return progress
    changes: dict[str, object] = {}
    for status in implied(report.status):
        known = progress.at(status)
        if known is None or report.at < known:
            changes[f"{status.value}_at"] = report.at
    current = progress.status
    if RANK[report.status] > RANK[current]:
        changes["status"] = report.status
        changes["error"] = report.error
    elif report.status is current:
        known = progress.at(current)
        if known is None or (report.at, report.error) < (known, progress.error):
            changes["error"] = report.error
    if _SEVERITY[report.bounce_type] > _SEVERITY[progress.bounce_type]:
        changes["bounce_type"] = report.bounce_type
    if report.provider_message_id and (
        not progress.provider_message_id
        or report.provider_message_id < progress.provider_message_id
    ):
        changes["provider_message_id"] = report.provider_message_id
    return replace(progress, **changes) if changes else progress  # type: ignore[arg-type]


def newly_reached(before: Progress, after: Progress) -> list[MessageStatus]:
    """The statuses `after` reached that `before` had not, in rank order: what to announce."""
    return [s for s in STAMPED if before.at(s) is None and after.at(s) is not None]


def progress_of(message: Message) -> Progress:
    """The feedback part of a stored message."""
    return Progress(
        status=message.status,
        sent_at=message.sent_at,
        delivered_at=message.delivered_at,
        opened_at=message.opened_at,
        clicked_at=message.clicked_at,
        converted_at=message.converted_at,
        failed_at=message.failed_at,
        bounced_at=message.bounced_at,
        unsubscribed_at=message.unsubscribed_at,
        bounce_type=BounceType(message.bounce_type),
        error=message.error,
        provider_message_id=message.provider_message_id,
    )


def with_progress(message: Message, progress: Progress) -> Message:
    """`message` as `progress` says it is now."""
    return replace(
        message,
        status=progress.status,
        sent_at=progress.sent_at,
        delivered_at=progress.delivered_at,
        opened_at=progress.opened_at,
        clicked_at=progress.clicked_at,
        converted_at=progress.converted_at,
        failed_at=progress.failed_at,
        bounced_at=progress.bounced_at,
        unsubscribed_at=progress.unsubscribed_at,
        bounce_type=progress.bounce_type.value,
        error=progress.error,
        provider_message_id=progress.provider_message_id,
        held=message.held and progress.status is MessageStatus.DEFERRED,
    )


@dataclass(frozen=True, slots=True)
class Applied:
    """What one report did to a stored message: before and after (equal: it changed nothing)."""

    message: Message  # as it is now
    before: Progress
    after: Progress

    @property
    def changed(self) -> bool:
        return self.before != self.after
