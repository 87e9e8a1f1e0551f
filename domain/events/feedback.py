"""Message feedback: the notification service's `notification.*` reports move a message forward
(domain.execution.feedback), suppress an address that hard-bounced or complained, and announce
every status the message newly reached as `campaign.message.<status>` (docs/message-states.md).

Payload (the event's properties): {message_id, notification_id, provider_message_id, status,
bounce_type, error, link_url, occurred_at}; the event type names the status. `occurred_at` in the
payload, when present, is when the provider saw it happen; else the event's own instant.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from domain.audience.model import Suppression, SuppressionReason
from domain.events.intake import RejectedEventError
from domain.events.model import NOTIFICATION_PREFIX, InboundEvent
from domain.events.ports import EventsUnitOfWork
from domain.execution.feedback import Applied, BounceType, Report, newly_reached
from domain.execution.model import MessageStatus, reported_execution_id
from domain.kernel import outbox
from domain.kernel.events import PendingEvent
from domain.kernel.ports import Clock, IdGenerator

COMPLAINED = "complained"  # a spam complaint: the message counts as unsubscribed
UNSUBSCRIBED = "unsubscribed"
REPORTED: dict[str, MessageStatus] = {
    "delivered": MessageStatus.DELIVERED,
    "opened": MessageStatus.OPENED,
    "clicked": MessageStatus.CLICKED,
    "failed": MessageStatus.FAILED,
    "bounced": MessageStatus.BOUNCED,
    UNSUBSCRIBED: MessageStatus.UNSUBSCRIBED,
    COMPLAINED: MessageStatus.UNSUBSCRIBED,
}
BOUNCE_TYPES: dict[str, BounceType] = {
    "hard": BounceType.HARD,
    "permanent": BounceType.HARD,
    "soft": BounceType.SOFT,
    "transient": BounceType.SOFT,
}
# The statuses announced when a message reaches them (`sent` is the hand-over's; a failure is
# the fallback's business and not an event of the contract).
ANNOUNCED = frozenset(
    {
        MessageStatus.DELIVERED,
        MessageStatus.OPENED,
        MessageStatus.CLICKED,
        MessageStatus.CONVERTED,
        MessageStatus.BOUNCED,
        MessageStatus.UNSUBSCRIBED,
    }
)
MESSAGE_EVENT_PREFIX = "campaign.message."


@dataclass(frozen=True, slots=True)
class Notification:
    """One `notification.*` event, read."""

    message_id: str
    kind: str  # the event type's last part: delivered, bounced, complained...
    report: Report
    link_url: str = ""
    link_id: str = ""


def read_notification(event: InboundEvent) -> Notification:
    """The report an event carries; RejectedEventError when no retry could make it usable."""
    kind = event.event_type.removeprefix(NOTIFICATION_PREFIX)
    status = REPORTED.get(kind)
    if status is None:
        raise RejectedEventError(f"{event.event_type} is not a message status report")
    data = event.properties
    message_id = _text(data, "message_id")
    if not message_id:
        raise RejectedEventError(f"{event.event_type} without a message_id")
    bounce = _text(data, "bounce_type").lower()
    report = Report(
        status=status,
        at=_occurred_at(data, event.occurred_at),
        bounce_type=BOUNCE_TYPES.get(bounce, BounceType.SOFT)
        if status is MessageStatus.BOUNCED
        else BounceType.NONE,
        error=_text(data, "error"),
        provider_message_id=_text(data, "provider_message_id"),
    )
    return Notification(
        message_id, kind, report, link_url=_text(data, "link_url"), link_id=_text(data, "link_id")
    )


class FeedbackHandler:
    """The EventHandler of `notification.*` reports (runs in the intake's transaction)."""

    def __init__(self, ids: IdGenerator, clock: Clock) -> None:
        self._ids = ids
        self._clock = clock

    def accepts(self, event_type: str) -> bool:
        return event_type.startswith(NOTIFICATION_PREFIX) and (
            event_type.removeprefix(NOTIFICATION_PREFIX) in REPORTED
        )

    async def handle(self, uow: EventsUnitOfWork, event: InboundEvent) -> None:
        await self.handle_many(uow, [event])

    async def handle_many(self, uow: EventsUnitOfWork, events: Sequence[InboundEvent]) -> None:
        """Every event's report applied in order, its suppressions and its announcements: the
        effects of `handle` per event, in a few statements for the whole batch."""
        read = [read_notification(event) for event in events]
        applied = await uow.messages.apply_reports(
            [(e.organization_id, n.message_id, n.report) for e, n in zip(events, read, strict=True)]
        )
        announced: list[PendingEvent] = []
        suppressed: dict[str, list[Suppression]] = {}
        for event, notification, outcome in zip(events, read, applied, strict=True):
            if outcome is None:  # unknown here, or another organization's: the same answer
                raise RejectedEventError(f"no message {notification.message_id}")
            reason = suppression_reason(notification)
            if reason is not None:
                message = outcome.message
                suppressed.setdefault(event.organization_id, []).append(
                    Suppression(address=message.recipient, channel=message.channel, reason=reason)
                )
            announced += announcements(outcome, notification)
        for organization_id, entries in suppressed.items():
            await uow.suppressions.add(organization_id, entries, self._clock.now())
        await outbox.record(uow.outbox, announced, self._ids, self._clock)


def suppression_reason(notification: Notification) -> SuppressionReason | None:
    """A hard bounce, a complaint or an unsubscribe the provider reports suppresses the
    address on the message's channel."""
    if notification.kind == COMPLAINED:
        return SuppressionReason.COMPLAINED
    if notification.kind == UNSUBSCRIBED:
        return SuppressionReason.UNSUBSCRIBED
    if notification.report.bounce_type is BounceType.HARD:
        return SuppressionReason.BOUNCED
    return None


def announcements(applied: Applied, notification: Notification) -> list[PendingEvent]:
    """One `campaign.message.<status>` per status the report made the message reach."""
    message = applied.message
    events = []
    for status in newly_reached(applied.before, applied.after):
        if status not in ANNOUNCED:
            continue
        at = applied.after.at(status)
        assert at is not None
        data: dict[str, Any] = {
            "campaign_id": message.campaign_id,
            "execution_id": reported_execution_id(message),
            "message_id": message.message_id,
            "user_id": message.user_id,
            "channel": message.channel.value,
            f"{status.value}_at": at.isoformat(),
        }
        if status is MessageStatus.CLICKED:
            data |= {"link_id": notification.link_id, "link_url": notification.link_url}
        if status is MessageStatus.BOUNCED:
            data |= {"bounce_type": applied.after.bounce_type.value, "reason": applied.after.error}
        events.append(
            PendingEvent(MESSAGE_EVENT_PREFIX + status.value, message.organization_id, data)
        )
    return events


def _text(data: Mapping[str, Any], key: str) -> str:
    value = data.get(key)
    return value if isinstance(value, str) else ""


def _occurred_at(data: Mapping[str, Any], default: datetime) -> datetime:
    raw = data.get("occurred_at")
    if raw is None or raw == "":
        return default
    if not isinstance(raw, str):
        raise RejectedEventError("occurred_at must be an RFC 3339 timestamp")
    try:
        parsed = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError as exc:
        raise RejectedEventError(f"occurred_at {raw!r} is not an RFC 3339 timestamp") from exc
    return parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)
