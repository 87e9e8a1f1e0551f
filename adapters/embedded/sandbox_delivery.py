"""Sandbox delivery for the embedded default: nothing leaves the machine.

Every handed-over message is recorded, marked `sent` like a real hand-over, and then reported
delivered through the event intake, the path the notification service's `notification.delivered`
takes (domain.events.feedback): so DELIVERED means the same in both modes, and the report moves
the message, counts it and announces `campaign.message.delivered` exactly as a real one would.
A campaign can be run end to end on a laptop and its messages inspected through ListMessages and
GetMessage.

The reports go after the hand-over's mark is committed (`handed_over`), never from `publish`: the
relay publishes while holding its claimed rows (and SQLite's write lock), which a report
written from inside `publish` would wait for forever. One intake batch (one transaction) per
hand-over batch; each report has a deterministic event id, so a batch published twice is
reported once. A batch whose report fails (the database is away) is kept and reported with the
next one.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Sequence
from typing import Protocol

from adapters.system import SystemClock
from domain.events.model import Door, InboundEvent, Taken
from domain.execution.model import Message, MessageStatus
from domain.kernel.ports import Clock

RECENT = 10_000
DELIVERED = "notification.delivered"
log = logging.getLogger("campaign.sandbox")


class Intake(Protocol):
    async def take_batch(self, events: Sequence[InboundEvent]) -> list[Taken]: ...


def delivery_report(message: Message, clock: Clock) -> InboundEvent:
    """The sandbox's `notification.delivered` for one message; its id is the message's own."""
    now = clock.now()
    return InboundEvent(
        organization_id=message.organization_id,
        event_id=f"sandbox:delivered:{message.message_id}",
        event_type=DELIVERED,
        occurred_at=now,
        user_id=message.user_id,
        properties={
            "message_id": message.message_id,
            "status": MessageStatus.DELIVERED.value,
            "occurred_at": now.isoformat(),
        },
        door=Door.SANDBOX,
    )


class SandboxDelivery:
    def __init__(self, keep: int = RECENT, *, clock: Clock | None = None) -> None:
        self.recent: deque[Message] = deque(maxlen=keep)
        self.delivered = 0
        self._clock = clock or SystemClock()
        self._intake: Intake | None = None
        self._unreported: list[Message] = []

    def report_to(self, intake: Intake) -> None:
        """Where the delivery reports go (the intake is built after the publisher)."""
        self._intake = intake

    @property
    def handed_over_status(self) -> MessageStatus:
        return MessageStatus.SENT

    async def publish(self, messages: Sequence[Message]) -> None:
        self.recent.extend(messages)
        self.delivered += len(messages)

    async def handed_over(self, messages: Sequence[Message]) -> None:
        if self._intake is None:
            return
        batch, self._unreported = [*self._unreported, *messages], []
        try:
            await self._intake.take_batch([delivery_report(m, self._clock) for m in batch])
        except Exception:
            self._unreported.extend(batch)  # with the next hand-over
            # Not the run's failure: its messages were handed over. Logged, and tried again.
            log.warning(
                "sandbox delivery reports failed; %d kept for later", len(batch), exc_info=True
            )
