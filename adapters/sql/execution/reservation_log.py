"""ReservationLog (domain.execution.reseeding) in the service's database: per limit key, the
latest arrival time any replica reserved, kept with an upsert that only ever moves it later.

One small transaction per reservation (a batch of up to CAMPAIGN_EXECUTOR_BATCH_SIZE messages on
one channel), written before the batch's messages: a message that exists had its slot recorded.
Rows whose arrival has long passed mean "free now" and are pruned now and then.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta

from sqlalchemy import case, delete, select
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.sql.audience.connections import reading, writing
from adapters.sql.audience.stores import dialect_insert
from adapters.sql.execution.tables import rate_limit_arrivals as table

PRUNE_EVERY = 1_000  # records between two deletions of long-passed arrivals
PRUNE_AFTER = timedelta(days=1)


class SqlReservationLog:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._calls = 0

    async def record(self, arrivals: Mapping[str, datetime]) -> None:
        if not arrivals:
            return
        self._calls += 1
        async with writing(self._engine) as connection:
            statement = dialect_insert(connection, table).values(
                [{"limit_key": k, "arrival": at} for k, at in sorted(arrivals.items())]
            )
            later = case(
                (statement.excluded.arrival > table.c.arrival, statement.excluded.arrival),
                else_=table.c.arrival,
            )
            await connection.execute(
                statement.on_conflict_do_update(
                    index_elements=[table.c.limit_key], set_={"arrival": later}
                )
            )
            if self._calls % PRUNE_EVERY == 0:
                cutoff = min(arrivals.values()) - PRUNE_AFTER
                await connection.execute(delete(table).where(table.c.arrival < cutoff))

    async def latest(self, now: datetime) -> dict[str, datetime]:
        async with reading(self._engine) as connection:
            rows = await connection.execute(
                select(table.c.limit_key, table.c.arrival).where(table.c.arrival > now)
            )
            return {row.limit_key: row.arrival for row in rows}
