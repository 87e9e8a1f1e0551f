"""RunProgress on SQL: what the campaign lifecycle reads of the campaign's runs (its pause
reports how many messages they have sent), and the cancel of a triggered campaign's pending
messages, which belong to no run."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from adapters.sql.execution.messages import UNSENT, SqlMessageRepository
from adapters.sql.execution.tables import executions, messages
from domain.execution.executor import CANCELLED_BEFORE_SENDING
from domain.execution.model import FINISHED_EXECUTIONS, TRIGGERED_EXECUTION, MessageStatus
from domain.execution.run_events import handed_over
from domain.metrics.deltas import Deltas


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
        counts = SqlMessageRepository(self._c, Deltas())  # reads only: nothing to count
        return sum([handed_over(await counts.status_counts(e)) for e in unfinished])

    async def cancel_triggered(
        self, organization_id: str, campaign_id: str, reason: str, at: datetime
    ) -> int:
        # (organization_id, campaign_id, queued_at) finds the campaign's rows; a row the relay
        # holds claimed is waited for, and left alone once it was handed over.
        error = f"{CANCELLED_BEFORE_SENDING}: {reason}" if reason else CANCELLED_BEFORE_SENDING
        result = await self._c.execute(
            update(messages)
            .where(
                messages.c.organization_id == organization_id,
                messages.c.campaign_id == campaign_id,
                messages.c.execution_id == TRIGGERED_EXECUTION,
                messages.c.status.in_(UNSENT),
            )
            .values(status=MessageStatus.CANCELLED.value, error=error)
        )
        return int(result.rowcount)
