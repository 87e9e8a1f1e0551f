"""The one intake both doors feed: record the event's id, run every handler that accepts its
type, commit; or find the id taken and change nothing (a duplicate).

One transaction per event with `take`: a poison event rolls back only itself. `take_batch` takes
many in one transaction (the embedded sandbox's delivery reports, chunks of a batch fetched from
NATS), and falls back to one per event when any of them is rejected. The NATS consumer acks a
message only once the intake returned for it (the effect is committed, or the event is known
bad).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence

from domain.events.model import InboundEvent, Outcome, Taken
from domain.events.ports import (
    BatchEventHandler,
    EventHandler,
    EventsUnitOfWork,
    EventsUnitOfWorkFactory,
)
from domain.kernel.errors import InvalidArgumentError
from domain.kernel.ports import Clock


class RejectedEventError(InvalidArgumentError):
    """An event no retry can make usable (a missing field, a message of another
    organization...): reported to its sender, parked on the dead-letter subject by NATS."""

    reason = "EVENT_REJECTED"

    def __init__(self, message: str) -> None:
        super().__init__([], message=message)


class EventIntake:
    def __init__(
        self,
        uow: EventsUnitOfWorkFactory,
        handlers: Sequence[EventHandler],
        clock: Clock,
        *,
        on_accepted: Callable[[], None] = lambda: None,
    ) -> None:
        """`on_accepted` is told after each commit that took a new event: the server wakes the
        workers that hand a trigger's messages over, instead of leaving them to their next
        poll (the event-to-delivery latency, docs/triggers.md)."""
        self._uow = uow
        self._handlers = tuple(handlers)
        self._clock = clock
        self._on_accepted = on_accepted

    async def take(self, event: InboundEvent) -> Taken:
        """Apply one event once. Raises what the store or a handler raised when the event
        should come again later (an outage); RejectedEventError becomes REJECTED."""
        handlers = [h for h in self._handlers if h.accepts(event.event_type)]
        try:
            async with self._uow() as uow:
                if not await uow.ledger.record(event, self._clock.now()):
                    return Taken(Outcome.DUPLICATE)
                for handler in handlers:
                    await handler.handle(uow, event)
                await uow.commit()
        except RejectedEventError as exc:
            return Taken(Outcome.REJECTED, str(exc))
        self._on_accepted()
        return Taken(Outcome.ACCEPTED)

    async def take_all(self, events: Sequence[InboundEvent]) -> list[Taken]:
        """Each event on its own, in order: one event's rejection keeps the others."""
        return [await self.take(event) for event in events]

    async def take_batch(self, events: Sequence[InboundEvent]) -> list[Taken]:
        """Like `take_all`, in one transaction for the whole batch (the sandbox reports a
        hand-over of thousands of messages at once: one transaction each would be most of a
        run's cost). Every event is still recorded in the ledger (a duplicate changes nothing)
        and handled by the same handlers; a handler that can take many events at once
        (BatchEventHandler) gets the batch's new events it accepts in one call, in order, the
        others one event at a time. Handler by handler within each run of consecutive events of
        the same handlers, run after run: so an event another handler takes (a user's
        preferences, their erasure) still takes effect before a later event of the batch is
        handled, as one event per transaction would have it. A rejection rolls the batch back
        and takes it again one event at a time, so it costs only itself, exactly as with
        `take_all`."""
        if not events:
            return []
        try:
            async with self._uow() as uow:
                recorded = await uow.ledger.record_many(events, self._clock.now())
                new = [event for event, fresh in zip(events, recorded, strict=True) if fresh]
                for handlers, run in itertools.groupby(new, key=self._handlers_of):
                    await _handle_run(uow, list(handlers), list(run))
                await uow.commit()
        except RejectedEventError:
            return await self.take_all(events)
        if any(recorded):
            self._on_accepted()
        return [Taken(Outcome.ACCEPTED if fresh else Outcome.DUPLICATE) for fresh in recorded]

    def _handlers_of(self, event: InboundEvent) -> tuple[EventHandler, ...]:
        return tuple(h for h in self._handlers if h.accepts(event.event_type))


async def _handle_run(
    uow: EventsUnitOfWork, handlers: Sequence[EventHandler], events: Sequence[InboundEvent]
) -> None:
    """Events that the same handlers accept: each handler takes them all, in order, at once if
    it can (BatchEventHandler)."""
    for handler in handlers:
        if isinstance(handler, BatchEventHandler):
            await handler.handle_many(uow, events)
            continue
        for event in events:
            await handler.handle(uow, event)
