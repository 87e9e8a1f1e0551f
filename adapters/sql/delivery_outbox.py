"""The delivery side of the messages outbox: claim due queued messages, hand them over, mark.

Claims lock their rows (SKIP LOCKED on Postgres) for the time of the hand-over, so replicas
relaying together split the work; a crash before the mark leaves the rows queued, and the
broker drops the re-publish by message id.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from adapters.sql.engine import is_postgres
from adapters.sql.execution_tables import messages
from adapters.sql.failures import unavailable_as_domain_error
from adapters.sql.messages import message_from_row
from adapters.sql.tables import campaigns
from domain.execution import Message, MessageStatus
from domain.model import CampaignStatus

HELD = (CampaignStatus.PAUSED.value, CampaignStatus.CANCELLED.value)
STAMP = {MessageStatus.SENT: "sent_at", MessageStatus.DELIVERED: "delivered_at"}


@dataclass
class SqlDeliveryBatch:
    messages: Sequence[Message]
    _connection: AsyncConnection
    marked: bool = field(default=False)

    async def mark_handed_over(self, status: MessageStatus) -> None:
        if not self.messages:
            return
        now = datetime.now(UTC)
        values: dict[str, object] = {"status": status.value, "sent_at": now}
        if status in STAMP:
            values[STAMP[status]] = now
        with unavailable_as_domain_error():
            await self._connection.execute(
                update(messages)
                .where(messages.c.message_id.in_([m.message_id for m in self.messages]))
                .values(values)
            )
        self.marked = True


class SqlDeliveryOutbox:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    @asynccontextmanager
    async def claim_due(self, now: datetime, limit: int) -> AsyncIterator[SqlDeliveryBatch]:
        async with self._engine.connect() as connection:
            statement = (
                select(messages)
                .join(campaigns, campaigns.c.campaign_id == messages.c.campaign_id)
                .where(
                    messages.c.status == MessageStatus.QUEUED.value,
                    messages.c.send_after <= now,
                    campaigns.c.status.not_in(HELD),
                )
                .order_by(messages.c.send_after)
                .limit(limit)
            )
            with unavailable_as_domain_error():
                if is_postgres(connection):
                    statement = statement.with_for_update(of=messages, skip_locked=True)
                rows = (await connection.execute(statement)).mappings().all()
            batch = SqlDeliveryBatch([message_from_row(r) for r in rows], connection)
            yield batch
            with unavailable_as_domain_error():
                await connection.commit()
