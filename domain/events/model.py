"""Inbound events: what the two doors (NATS subscriptions, EventService.TrackEvents) hand to the
intake, in one shape whichever door they came through.

An event takes effect once per (organization, event_id): the intake records the id in the same
transaction as the effect (domain.events.intake), so a redelivery, a client's retry or the same
event through the other door finds the id taken and changes nothing.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


class Door(enum.StrEnum):
    """Where an event came in; recorded with it, never a reason to treat it differently."""

    NATS = "nats"
    TRACK_EVENTS = "track_events"
    SANDBOX = "sandbox"  # the embedded sandbox's own delivery reports
    TRACKING = "tracking"  # hits on tracking links: opens, clicks, unsubscribes


@dataclass(frozen=True, slots=True)
class InboundEvent:
    organization_id: str
    event_id: str
    event_type: str
    occurred_at: datetime
    user_id: str = ""
    # The event's payload: a tracked event's properties, or the `data` of a NATS envelope
    # (for `event.stored`, the stored event's properties).
    properties: Mapping[str, Any] = field(default_factory=dict)
    door: Door = Door.TRACK_EVENTS


class Outcome(enum.StrEnum):
    ACCEPTED = "accepted"  # new: its effects are committed
    DUPLICATE = "duplicate"  # its id was taken already: nothing changed
    REJECTED = "rejected"  # a handler found it unusable (a poison event): nothing changed


@dataclass(frozen=True, slots=True)
class Taken:
    """What became of one event: its outcome and, when rejected, why."""

    outcome: Outcome
    reason: str = ""


# Event types with a handler of their own; every other type is a trigger source.
NOTIFICATION_PREFIX = "notification."
USER_DELETED = "user.deleted"
USER_PREFERENCES_UPDATED = "user.preferences.updated"
TASK_EXECUTED = "task.executed"
