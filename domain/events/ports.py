"""Ports of the inbound events context."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol, runtime_checkable

from domain.audience.model import Suppression
from domain.events.lifecycle import PersonalData
from domain.events.model import InboundEvent
from domain.execution.ports import ExecutionUnitOfWork


class EventLedger(Protocol):
    """The ids of the events that took effect, per organization."""

    async def record(self, event: InboundEvent, at: datetime) -> bool:
        """Record the event's id in the caller's transaction; False when it is taken already
        (committed by an earlier delivery, or by a concurrent one that commits first: the
        insert waits for it, so two replicas never both get True)."""

    async def record_many(self, events: Sequence[InboundEvent], at: datetime) -> list[bool]:
        """`record` for each event, in one statement per chunk; an id repeated within `events`
        is taken by its first occurrence."""


class SuppressionList(Protocol):
    """The organization's suppressions, written in the unit of work's transaction."""

    async def add(self, organization_id: str, entries: Sequence[Suppression], at: datetime) -> int:
        """Add the entries not present yet (created `at`); an entry present keeps its reason.
        How many were new."""


class EventsUnitOfWork(ExecutionUnitOfWork, Protocol):
    @property
    def ledger(self) -> EventLedger: ...

    @property
    def suppressions(self) -> SuppressionList: ...

    @property
    def personal_data(self) -> PersonalData: ...

    async def __aenter__(self) -> EventsUnitOfWork: ...


class EventsUnitOfWorkFactory(Protocol):
    def __call__(self, *, read_only: bool = False) -> EventsUnitOfWork: ...


class EventHandler(Protocol):
    """One effect of inbound events (message feedback, a trigger, an erasure...).

    `handle` runs inside the intake's transaction, after the event's id was recorded: its
    writes commit together with the id, or not at all. Anything it does outside that
    transaction (a suppression, a limiter reservation) must be idempotent, because a failed
    commit means the event comes again. A handler raises domain.events.intake.RejectedEventError
    for an event it can never use; any other exception means "try again later"."""

    def accepts(self, event_type: str) -> bool: ...

    async def handle(self, uow: EventsUnitOfWork, event: InboundEvent) -> None: ...


@runtime_checkable
class BatchEventHandler(EventHandler, Protocol):
    """A handler that can take many events in one go (EventIntake.take_batch): the sandbox's
    delivery reports come by the thousand, and one statement per event was most of their cost."""

    async def handle_many(self, uow: EventsUnitOfWork, events: Sequence[InboundEvent]) -> None:
        """`handle` for each event, in order, with the same effects; RejectedEventError when
        any of them is unusable."""
