"""What makes an inbound event usable, whichever door it came through.

TrackEvents reports a failing event to its caller by index and keeps the others; the NATS
consumer parks it on the dead-letter subject. Both apply these same rules, so an event one door
takes is never one the other door refuses.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from domain.audience.conditions import MAX_FIELD
from domain.audience.contacts import MAX_USER_ID
from domain.events.model import InboundEvent

MAX_EVENT_ID = 128
MAX_EVENT_TYPE = MAX_FIELD  # a trigger's event_type has the same limit
# A lowercase dotted name: "order.completed", "notification.opened", "signup".
EVENT_TYPE = re.compile(r"[a-z0-9][a-z0-9_-]*(?:\.[a-z0-9][a-z0-9_-]*)*")
# A sender's clock may run ahead a little; a day ahead is a wrong timestamp, not a skew.
FUTURE_TOLERANCE = timedelta(days=1)
# Older than this is a zero or garbage timestamp rather than a late event.
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)


def event_problems(event: InboundEvent, now: datetime) -> list[str]:
    """Every reason the event cannot be taken; empty when it can."""
    problems: list[str] = []
    if not event.event_id.strip():
        problems.append("event_id is required")
    elif len(event.event_id) > MAX_EVENT_ID:
        problems.append(f"event_id must be at most {MAX_EVENT_ID} characters")
    if not event.event_type:
        problems.append("event_type is required")
    elif len(event.event_type) > MAX_EVENT_TYPE:
        problems.append(f"event_type must be at most {MAX_EVENT_TYPE} characters")
    elif not EVENT_TYPE.fullmatch(event.event_type):
        problems.append(
            "event_type must be a lowercase dotted name such as order.completed "
            "(letters, digits, _ and -)"
        )
    if len(event.user_id) > MAX_USER_ID:
        problems.append(f"user_id must be at most {MAX_USER_ID} characters")
    if not event.organization_id:
        problems.append("organization_id is required")
    if event.occurred_at > now + FUTURE_TOLERANCE:
        problems.append("occurred_at is more than a day in the future")
    elif event.occurred_at < EARLIEST:
        problems.append(f"occurred_at is before {EARLIEST.date().isoformat()}")
    return problems
