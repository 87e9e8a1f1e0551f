"""RunProgress on SQL: what the campaign lifecycle reads of the campaign's runs (its pause
reports how many messages they have sent)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from adapters.sql.execution.messages import SqlMessageRepository
from adapters.sql.execution.tables import executions
from domain.execution.model import FINISHED_EXECUTIONS
from domain.execution.run_events import handed_over


class SqlRunProgress:
    def __init__(self, connection: AsyncConnection) -> None:
        self._c = connection

    async def messages_sent(self, organization_id: str, campaign_id: str) -> int:
        unfinished = (
            (
                await self._c.execute(
                    select(executions.c.execution_id).where(
                        executions.c.organization_id == organization_id,
                        executions.c.campaign_id == campaign_id,
                        executions.c.status.not_in([s.value for s in FINISHED_EXECUTIONS]),
                    )
                )
            )
            .scalars()
            .all()
        )
        counts = SqlMessageRepository(self._c)
        return sum([handed_over(await counts.status_counts(e)) for e in unfinished])
