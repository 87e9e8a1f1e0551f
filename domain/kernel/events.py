"""Lifecycle events. They are recorded in the same transaction as the change (the outbox), so
an event exists if and only if the change it describes was committed.

An aggregate records what happened as a `PendingEvent` (no id, no time: it has neither a clock
nor an id generator); the transaction that saves the change stamps it into a `DomainEvent`
(domain.kernel.outbox), so every event on the wire is built by `PendingEvent.stamp`."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

SOURCE = "campaign_service"


@dataclass(frozen=True, slots=True)
class DomainEvent:
    event_id: str
    event_type: str
    organization_id: str
    occurred_at: datetime
    data: dict[str, Any] = field(default_factory=dict)
    # Where the change was made, as the outbox's TraceContext port wrote it down (an opaque
    # string to the domain; W3C traceparent on the wire): not part of the envelope, the bus
    # carries it beside the body (docs/observability-traces.md). None when nothing was traced.
    trace_context: str | None = None

    def envelope(self) -> dict[str, Any]:
        """The wire shape (docs/events.md): subject = event_type, JSON body = this envelope."""
        return {
            "event_id": self.event_id,
            "event_type": self.event_type,
            "source": SOURCE,
            "organization_id": self.organization_id,
            "occurred_at": self.occurred_at.isoformat(),
            "data": self.data,
        }

    @classmethod
    def from_envelope(cls, envelope: dict[str, Any]) -> DomainEvent:
        """Inverse of `envelope()`: what the outbox stores and the bus carries, read back."""
        return cls(
            event_id=envelope["event_id"],
            event_type=envelope["event_type"],
            organization_id=envelope["organization_id"],
            occurred_at=datetime.fromisoformat(envelope["occurred_at"]),
            data=envelope["data"],
        )


@dataclass(frozen=True, slots=True)
class PendingEvent:
    """A change as its aggregate recorded it, waiting for the save that commits it."""

    event_type: str
    organization_id: str
    data: dict[str, Any]

    def stamp(self, event_id: str, occurred_at: datetime) -> DomainEvent:
        return DomainEvent(
            event_id=event_id,
            event_type=self.event_type,
            organization_id=self.organization_id,
            occurred_at=occurred_at,
            data=self.data,
        )


CAMPAIGN_CREATED = "campaign.created"
CAMPAIGN_UPDATED = "campaign.updated"
CAMPAIGN_SCHEDULED = "campaign.scheduled"
CAMPAIGN_ACTIVATED = "campaign.activated"
CAMPAIGN_PAUSED = "campaign.paused"
CAMPAIGN_RESUMED = "campaign.resumed"
CAMPAIGN_CANCELLED = "campaign.cancelled"
CAMPAIGN_STARTED = "campaign.started"
CAMPAIGN_COMPLETED = "campaign.completed"
# An A/B test's winner was chosen, by SelectWinner or by the automatic rule (domain.metrics).
CAMPAIGN_WINNER_SELECTED = "campaign.winner_selected"
