"""The subjects we subscribe to and how one of their messages becomes an InboundEvent.

Every message carries the envelope {event_id, event_type, source, organization_id,
occurred_at, data}. For `event.stored` the event is the stored event inside `data`
({event_id, event_type, user_id, properties, occurred_at}), so the same user event tracked
through EventService.TrackEvents and stored by the event service has one id and takes effect
once. For every other subject the event is the envelope itself: its type is the subject (without
our prefix), its user `data.user_id`, its properties `data`.

A message that cannot become a usable event raises PoisonMessageError: no redelivery can fix
it, so the consumer parks it on the dead-letter subject with the reason.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import orjson

from domain.events.model import Door, InboundEvent
from domain.events.validation import event_problems

EVENT_STORED = "event.stored"
# What we subscribe to, without the prefix (docs/inbound-events.md). `user.>` also takes
# `user.preferences.updated`, which `user.*` would miss.
SUBJECTS = (
    "event.*",
    "user.>",
    "subscription.*",
    "order.completed",
    "notification.delivered",
    "notification.failed",
    "notification.opened",
    "notification.clicked",
    "notification.bounced",
    "task.executed",
)


class PoisonMessageError(Exception):
    """A message no retry can make usable; str() is the reason parked with it."""


def decode(subject: str, data: bytes, received_at: datetime) -> InboundEvent:
    """`subject` without our prefix. Raises PoisonMessageError naming every problem found."""
    try:
        envelope = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise PoisonMessageError(f"not JSON: {exc}") from None
    if not isinstance(envelope, dict):
        raise PoisonMessageError("the envelope is not a JSON object")
    payload = envelope.get("data")
    if payload is None:
        payload = {}
    if not isinstance(payload, dict):
        raise PoisonMessageError("data is not a JSON object")
    organization_id = _text(envelope, "organization_id")
    if not organization_id:
        raise PoisonMessageError("organization_id is missing")
    if subject == EVENT_STORED:
        properties = payload.get("properties") or {}
        if not isinstance(properties, dict):
            raise PoisonMessageError("data.properties is not a JSON object")
        event = InboundEvent(
            organization_id=organization_id,
            event_id=_text(payload, "event_id") or _text(envelope, "event_id"),
            event_type=_text(payload, "event_type"),
            occurred_at=_when(payload, "data.occurred_at")
            or _when(envelope, "occurred_at")
            or received_at,
            user_id=_text(payload, "user_id"),
            properties=properties,
            door=Door.NATS,
        )
    else:
        event = InboundEvent(
            organization_id=organization_id,
            event_id=_text(envelope, "event_id"),
            event_type=subject,
            occurred_at=_when(envelope, "occurred_at") or received_at,
            user_id=_text(payload, "user_id"),
            properties=payload,
            door=Door.NATS,
        )
    problems = event_problems(event, received_at)
    if problems:
        raise PoisonMessageError("; ".join(problems))
    return event


def _text(source: Mapping[str, Any], key: str) -> str:
    """A string field; a number (a numeric user id) as its text; anything else as missing."""
    value = source.get(key)
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return ""


def _when(source: Mapping[str, Any], label: str) -> datetime | None:
    """An ISO 8601 time (no zone = UTC); None when absent."""
    value = source.get(label.rsplit(".", 1)[-1])
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise PoisonMessageError(f"{label} is not an ISO 8601 string")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise PoisonMessageError(f"{label} is not an ISO 8601 time: {value[:64]!r}") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
