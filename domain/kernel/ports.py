"""Ports every context shares: the outbox, event publishing, tracing, time, ids and health.

Adapters implement these structurally; the contract tests run one suite against each."""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from datetime import datetime
from typing import Protocol

from domain.kernel.events import DomainEvent


class Outbox(Protocol):
    """Events recorded in the same transaction as the change they describe."""

    async def add(self, events: Sequence[DomainEvent]) -> None: ...


class OutboxBatch(Protocol):
    """Events claimed by one relay; other relays skip them until this batch ends."""

    @property
    def events(self) -> Sequence[DomainEvent]: ...

    async def mark_published(self) -> None: ...


class OutboxStore(Protocol):
    def claim(self, limit: int) -> AbstractAsyncContextManager[OutboxBatch]: ...


class EventPublisher(Protocol):
    """Delivers events at least once; consumers deduplicate by event_id (Nats-Msg-Id)."""

    async def publish(self, events: Sequence[DomainEvent]) -> None: ...


class TraceContext(Protocol):
    """The trace the current work belongs to, as an opaque string the outbox stores with what
    it records and the bus sends on, so a consumer continues the trace (an adapter's format:
    W3C traceparent). None when nothing is traced."""

    def current(self) -> str | None: ...


class Clock(Protocol):
    def now(self) -> datetime: ...


class IdGenerator(Protocol):
    def new_id(self) -> str: ...


class HealthProbe(Protocol):
    async def check(self) -> bool: ...
