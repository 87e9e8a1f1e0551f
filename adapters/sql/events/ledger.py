"""EventLedger on SQL: an insert that does nothing on a taken (organization, event_id).

On Postgres a concurrent insert of the same key waits for the first transaction and then finds
the conflict, so of two replicas taking the same event at once exactly one records it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from adapters.sql.audience.connections import chunked
from adapters.sql.audience.stores import dialect_insert
from adapters.sql.events.tables import inbound_events
from domain.events.model import InboundEvent

_RECORD_MANY: dict[str, Any] = {}  # by dialect: built once, not per batch


def _record_many(connection: AsyncConnection) -> Any:
    dialect = connection.dialect.name
    statement = _RECORD_MANY.get(dialect)
    if statement is None:
        statement = _RECORD_MANY[dialect] = (
            dialect_insert(connection, inbound_events)
            .on_conflict_do_nothing(index_elements=["organization_id", "event_id"])
            .returning(inbound_events.c.organization_id, inbound_events.c.event_id)
        )
    return statement


class SqlEventLedger:
    def __init__(self, connection: AsyncConnection) -> None:
        self._c = connection

    async def record(self, event: InboundEvent, at: datetime) -> bool:
        statement = (
            dialect_insert(self._c, inbound_events)
            .values(_row(event, at))
            .on_conflict_do_nothing(index_elements=["organization_id", "event_id"])
        )
        result = await self._c.execute(statement)
        return bool(result.rowcount)

    async def record_many(self, events: Sequence[InboundEvent], at: datetime) -> list[bool]:
        firsts: dict[tuple[str, str], int] = {}
        for index, event in enumerate(events):
            firsts.setdefault((event.organization_id, event.event_id), index)
        statement = _record_many(self._c)
        taken: set[tuple[str, str]] = set()
        for chunk in chunked([_row(events[i], at) for i in firsts.values()]):
            result = await self._c.execute(statement, list(chunk))
            taken.update((org, event_id) for org, event_id in result.all())
        return [
            (key := (e.organization_id, e.event_id)) in taken and firsts[key] == index
            for index, e in enumerate(events)
        ]


def _row(event: InboundEvent, at: datetime) -> dict[str, object]:
    return {
        "organization_id": event.organization_id,
        "event_id": event.event_id,
        "event_type": event.event_type,
        "user_id": event.user_id,
        "door": event.door.value,
        "occurred_at": event.occurred_at,
        "received_at": at,
    }
