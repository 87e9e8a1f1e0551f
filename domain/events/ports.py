"""Ports of the inbound events context."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from domain.events.lifecycle import PersonalData
from domain.events.model import InboundEvent
from domain.execution.ports import ExecutionUnitOfWork


class EventLedger(Protocol):
    """The ids of the events that took effect, per organization."""

    async def record(self, event: InboundEvent, at: datetime) -> bool:
        """Record the event's id in the caller's transaction; False when it is taken already
        (committed by an earlier delivery, or by a concurrent one that commits first: the
        insert waits for it, so two replicas never both get True)."""


class EventsUnitOfWork(ExecutionUnitOfWork, Protocol):
    @property
    def ledger(self) -> EventLedger: ...

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
