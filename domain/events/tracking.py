"""EventService.TrackEvents as a use case: check each event, take the good ones through the
intake, and report each bad one by its position while keeping the others."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from domain.events.intake import EventIntake
from domain.events.model import InboundEvent, Outcome
from domain.events.validation import event_problems
from domain.kernel.errors import FieldViolation, InvalidArgumentError
from domain.kernel.ports import Clock


@dataclass(frozen=True, slots=True)
class RejectedEvent:
    index: int  # position in the caller's batch
    event_id: str
    reason: str


@dataclass(frozen=True, slots=True)
class TrackReport:
    accepted: int = 0
    duplicates: int = 0  # their (organization, event_id) had taken effect already
    rejected: list[RejectedEvent] = field(default_factory=list)


class EventTracking:
    def __init__(self, intake: EventIntake, clock: Clock) -> None:
        self._intake = intake
        self.clock = clock  # the door stamps events without occurred_at with its time

    async def track(self, events: Sequence[InboundEvent]) -> TrackReport:
        """An empty batch is a caller's mistake (INVALID_ARGUMENT); otherwise every event is
        answered for: accepted, duplicate, or rejected with its index and reason."""
        if not events:
            raise InvalidArgumentError([FieldViolation("events", "at least one event is required")])
        now = self.clock.now()
        rejected: list[RejectedEvent] = []
        good: list[tuple[int, InboundEvent]] = []
        for index, event in enumerate(events):
            problems = event_problems(event, now)
            if problems:
                rejected.append(RejectedEvent(index, event.event_id, "; ".join(problems)))
            else:
                good.append((index, event))
        accepted = duplicates = 0
        taken = await self._intake.take_all([event for _, event in good])
        for (index, event), result in zip(good, taken, strict=True):
            if result.outcome is Outcome.ACCEPTED:
                accepted += 1
            elif result.outcome is Outcome.DUPLICATE:
                duplicates += 1
            else:
                rejected.append(RejectedEvent(index, event.event_id, result.reason))
        rejected.sort(key=lambda r: r.index)
        return TrackReport(accepted, duplicates, rejected)
