"""OperationalFiguresReader on SQL (SQLite and Postgres): four small aggregate reads, each served
by a table or an index that stays small, so a sample costs the same at ten and at millions of
messages (docs/metrics-prometheus.md).

- messages by channel and status: the metric ledger (`metric_counters`, one row per cell and
  shard), summed by channel; the messages table is never read for it;
- executions by status: the executions table through its (status, ...) index;
- outbox backlog: the unpublished events through the partial index the relay claims from;
- delivery backlog: due queued and deferred messages through the partial index the delivery
  relay claims from (`ix_messages_due`): it reads the backlog itself, not the table.

Each read runs in a plain deferred transaction on SQLite, so a sample never waits for, or
holds, the write lock.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, select, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from adapters.sql.engine import SQLITE_BEGIN_OPTION
from adapters.sql.execution.tables import RELAYED, executions, messages
from adapters.sql.failures import database_errors_as_domain_errors
from adapters.sql.metrics.tables import metric_counters
from adapters.sql.schema import outbox_events
from domain.execution.figures import Backlog, OperationalFigures
from domain.execution.model import MessageStatus

# The ledger's funnel counters that count messages (holdout counts recipients, not messages).
MESSAGE_COUNTERS = tuple(
    s.value for s in MessageStatus if s.value in {c.name for c in metric_counters.columns}
)
# Spelled out, not bound: the planner must see the partial index's own predicate to use it.
DUE_STATUSES = text("messages.status IN (" + ", ".join(f"'{s}'" for s in RELAYED) + ")")


class SqlOperationalFigures:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def read(self, now: datetime) -> OperationalFigures:
        with database_errors_as_domain_errors():
            async with self._engine.connect() as connection:
                await connection.execution_options(**{SQLITE_BEGIN_OPTION: "BEGIN"})
                return OperationalFigures(
                    messages=await _messages(connection),
                    executions=await _executions(connection),
                    outbox=await _outbox(connection),
                    delivery=await _delivery(connection, now),
                )


async def _messages(connection: AsyncConnection) -> dict[tuple[str, str], int]:
    table = metric_counters.c
    statement = (
        select(table.channel, *(func.sum(table[name]) for name in MESSAGE_COUNTERS))
        .where(table.channel != "")
        .group_by(table.channel)
    )
    figures: dict[tuple[str, str], int] = {}
    for channel, *sums in await connection.execute(statement):
        for status, total in zip(MESSAGE_COUNTERS, sums, strict=True):
            figures[(channel, status)] = int(total or 0)
    return figures


async def _executions(connection: AsyncConnection) -> dict[str, int]:
    statement = select(executions.c.status, func.count()).group_by(executions.c.status)
    return {status: int(count) for status, count in await connection.execute(statement)}


async def _outbox(connection: AsyncConnection) -> Backlog:
    table = outbox_events.c
    statement = select(func.count(), func.min(table.occurred_at)).where(
        table.published_at.is_(None)
    )
    rows, oldest = (await connection.execute(statement)).one()
    return Backlog(int(rows), oldest)


async def _delivery(connection: AsyncConnection, now: datetime) -> Backlog:
    rows, oldest = (await connection.execute(delivery_backlog(now))).one()
    return Backlog(int(rows), oldest)


def delivery_backlog(now: datetime) -> Select[int, Any]:
    """Rows and oldest slot of the due messages, through ix_messages_due alone."""
    return select(func.count(), func.min(messages.c.send_after)).where(
        DUE_STATUSES, messages.c.send_after <= now
    )
