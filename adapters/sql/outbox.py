"""The transactional outbox on SQL: events written with the change, claimed by relays in order.

A claim holds its rows locked (FOR UPDATE SKIP LOCKED on Postgres; SQLite has one writer at a
time anyway) until the batch ends, so replicas relaying in parallel never publish the same rows,
and a relay that dies mid-batch leaves them pending for the next one.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from adapters.sql.engine import is_postgres
from adapters.sql.failures import database_errors_as_domain_errors
from adapters.sql.schema import outbox_events
from domain.kernel.events import DomainEvent
from domain.kernel.ports import TraceContext


class Untraced:
    """The TraceContext of a store nobody traces: rows carry no context."""

    def current(self) -> str | None:
        return None


UNTRACED = Untraced()


class SqlOutbox:
    """The Outbox port inside a unit of work: rows commit or roll back with the change, each
    with the trace context of the work that recorded it (docs/observability-traces.md)."""

    def __init__(self, session: AsyncConnection, trace: TraceContext = UNTRACED) -> None:
        self._session = session
        self._trace = trace

    async def add(self, events: Sequence[DomainEvent]) -> None:
        if not events:
            return
        current = self._trace.current()
        await self._session.execute(
            insert(outbox_events),
            [
                {
                    "event_id": event.event_id,
                    "organization_id": event.organization_id,
                    "event_type": event.event_type,
                    "payload": event.envelope(),
                    "occurred_at": event.occurred_at,
                    "trace_context": event.trace_context or current,
                }
                for event in events
            ],
        )


@dataclass(frozen=True, slots=True)
class SqlOutboxBatch:
    events: Sequence[DomainEvent]
    _session: AsyncConnection
    _seqs: tuple[int, ...]

    async def mark_published(self) -> None:
        """Takes effect when the claim block exits normally (same transaction as the claim)."""
        if not self._seqs:
            return
        with database_errors_as_domain_errors():
            await self._session.execute(
                update(outbox_events)
                .where(outbox_events.c.seq.in_(self._seqs))
                .values(published_at=datetime.now(UTC))
            )


class SqlOutboxStore:
    """The OutboxStore port: each claim is its own transaction, independent of any unit of work."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    @asynccontextmanager
    async def claim(self, limit: int) -> AsyncIterator[SqlOutboxBatch]:
        """Oldest pending events first; commit on a normal exit, roll back on an exception.

        Only the database calls are translated to DependencyUnavailableError: an error raised by
        the block itself (a broker outage, say) propagates untouched.
        """
        async with self._engine.connect() as session:  # closing without a commit rolls back
            statement = (
                select(outbox_events.c.seq, outbox_events.c.payload, outbox_events.c.trace_context)
                .where(outbox_events.c.published_at.is_(None))
                .order_by(outbox_events.c.seq)
                .limit(limit)
            )
            with database_errors_as_domain_errors():
                if is_postgres(session):
                    statement = statement.with_for_update(skip_locked=True)
                rows = (await session.execute(statement)).all()
            events = [
                replace(DomainEvent.from_envelope(row.payload), trace_context=row.trace_context)
                for row in rows
            ]
            yield SqlOutboxBatch(events, session, tuple(row.seq for row in rows))
            with database_errors_as_domain_errors():
                await session.commit()
