"""EventLedger on SQL: an insert that does nothing on a taken (organization, event_id).

On Postgres a concurrent insert of the same key waits for the first transaction and then finds
the conflict, so of two replicas taking the same event at once exactly one records it.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncConnection

from adapters.sql.audience.stores import dialect_insert
from adapters.sql.events.tables import inbound_events
from domain.events.model import InboundEvent


class SqlEventLedger:
    def __init__(self, connection: AsyncConnection) -> None:
        self._c = connection

    async def record(self, event: InboundEvent, at: datetime) -> bool:
        statement = (
            dialect_insert(self._c, inbound_events)
            .values(
                organization_id=event.organization_id,
                event_id=event.event_id,
                event_type=event.event_type,
                user_id=event.user_id,
                door=event.door.value,
                occurred_at=event.occurred_at,
                received_at=at,
            )
            .on_conflict_do_nothing(index_elements=["organization_id", "event_id"])
        )
        result = await self._c.execute(statement)
        return bool(result.rowcount)
