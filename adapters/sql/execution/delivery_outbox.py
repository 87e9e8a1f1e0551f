"""The delivery side of the messages outbox: claim due messages (queued, or deferred to a throttle
slot that has come), hand them over, mark.

Claims lock their rows (SKIP LOCKED on Postgres) for the time of the hand-over, so replicas
relaying together split the work; a crash before the mark leaves the rows queued, and the
broker drops the re-publish by message id.

`hand_over_held` is the trigger hand-over's (domain.events.trigger_handover): the messages a
firing just stored held, named by id and already in the caller's memory, so nothing is read
back; claimed and marked in one statement, counted as the relay counts, published while the
statement's row locks are held.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, TextClause, exists, literal_column, select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from adapters.sql.campaigns.tables import campaigns
from adapters.sql.engine import CUSTOM_PLANS, is_postgres
from adapters.sql.execution.message_rows import HELD as HELD_ROW
from adapters.sql.execution.messages import (
    CELL_COLUMNS,
    content_text_columns,
    messages_from_rows,
)
from adapters.sql.execution.tables import RELAYED, executions, messages
from adapters.sql.failures import database_errors_as_domain_errors
from adapters.sql.id_lists import among
from adapters.sql.metrics.changes import NO_METRIC_CHANGES
from adapters.sql.metrics.ledger import SqlMetricLedger
from domain.campaigns.model import CampaignStatus
from domain.execution.model import ExecutionStatus, Message, MessageStatus
from domain.metrics.deltas import Deltas
from domain.metrics.model import Cell
from domain.metrics.ports import MetricChanges

HELD = (CampaignStatus.PAUSED.value, CampaignStatus.CANCELLED.value)
# A run stays paused after its campaign resumed until an executor took it up again and gave the
# slots missed meanwhile new ones (domain.execution.executor): relaying them before would burst.
PAUSED_RUN = (
    exists()
    .where(
        executions.c.execution_id == messages.c.execution_id,
        executions.c.status == ExecutionStatus.PAUSED.value,
    )
    .correlate(messages)
)
# For this claim's transaction only: walk ix_messages_due in send_after order and stop at the
# limit. On a big run's lagging statistics the planner picked a bitmap scan plus a sort, reading
# the whole table per claim (docs/performance.md). Same rows either way; only the plan changes.
# And plans for the parameters at hand (adapters.sql.engine.CUSTOM_PLANS): the mark's generic
# plan, made while the table was small, was a sequential scan for a handful of row ids.
ORDERED_SCAN = text(
    "SELECT set_config('enable_bitmapscan', 'off', true), set_config('enable_sort', 'off', true),"
    " set_config('plan_cache_mode', 'force_custom_plan', true)"
)
ROW_ID: ColumnElement[Any] = literal_column("messages.ctid").label("row_id")


def handed_over_values(status: MessageStatus, at: datetime) -> dict[str, object]:
    """The columns a relay's hand-over sets: the status and `sent_at` (and `delivered_at` for a
    publisher that hands over as delivered; the sandbox hands over as sent and reports delivery
    afterwards, domain.events.feedback)."""
    values: dict[str, object] = {"status": status.value, "sent_at": at}
    if status is MessageStatus.DELIVERED:
        values["delivered_at"] = at
    return values


def handed_over_deltas(cells: Iterable[Cell], status: MessageStatus) -> Deltas:
    """The counters of the rows a hand-over marked, one cell each: each reached `sent` (and
    `delivered`) now, in the marking transaction, counted in it too (docs/metrics.md)."""
    per_cell: dict[Cell, int] = {}
    for cell in cells:
        per_cell[cell] = per_cell.get(cell, 0) + 1
    deltas = Deltas()
    for cell, count in per_cell.items():
        deltas.add_count(cell, MessageStatus.SENT, count)
        if status is MessageStatus.DELIVERED:
            deltas.add_count(cell, MessageStatus.DELIVERED, count)
    return deltas


@dataclass
class SqlDeliveryBatch:
    messages: Sequence[Message]
    _connection: AsyncConnection
    marked: bool = field(default=False)
    # The (organization_id, campaign_id) whose counters the mark changed: told once committed.
    counted: set[tuple[str, str]] = field(default_factory=set)
    # Postgres: the claimed rows' physical addresses, stable while this transaction holds their
    # FOR UPDATE locks, so the mark finds each row without a primary key lookup.
    _row_ids: Sequence[object] | None = field(default=None, repr=False)

    async def mark_handed_over(self, status: MessageStatus) -> None:
        if not self.messages:
            return
        now = datetime.now(UTC)
        values = handed_over_values(status, now)
        # On Postgres one array parameter, not thousands of expanded IN parameters, and of row
        # ids, not keys: both make the mark cheaper (docs/performance.md).
        match: ColumnElement[bool] | TextClause
        if self._row_ids is not None:
            match = text("messages.ctid = ANY(CAST(:row_ids AS tid[]))").bindparams(
                row_ids=list(self._row_ids)
            )
        else:
            match = messages.c.message_id.in_([m.message_id for m in self.messages])
        with database_errors_as_domain_errors():
            # Forward only: a row a delivery report moved on is not put back to `sent` (the
            # claim's lock keeps reports out meanwhile; this keeps the rule local to the mark).
            marked = await self._connection.execute(
                update(messages)
                .where(match, messages.c.status.in_(RELAYED))
                .values(values)
                .returning(*CELL_COLUMNS)
            )
            deltas = handed_over_deltas((Cell(*row) for row in marked), status)
            self.counted = deltas.campaigns()
            await SqlMetricLedger(self._connection).add(deltas.take(), now)
        self.marked = True


class SqlDeliveryOutbox:
    def __init__(self, engine: AsyncEngine, changes: MetricChanges | None = None) -> None:
        self._engine = engine
        self._changes = changes or NO_METRIC_CHANGES

    @asynccontextmanager
    async def claim_due(self, now: datetime, limit: int) -> AsyncIterator[SqlDeliveryBatch]:
        async with self._engine.connect() as connection:
            postgres = is_postgres(connection)
            statement = (
                select(*content_text_columns(postgres=postgres))
                .select_from(messages)
                .join(campaigns, campaigns.c.campaign_id == messages.c.campaign_id)
                .where(
                    messages.c.status.in_(RELAYED),
                    messages.c.send_after <= now,
                    campaigns.c.status.not_in(HELD),
                    ~PAUSED_RUN,
                )
                .order_by(messages.c.send_after)
                .limit(limit)
            )
            if postgres:
                statement = statement.add_columns(ROW_ID).with_for_update(
                    of=messages, skip_locked=True
                )
            with database_errors_as_domain_errors():
                if postgres:
                    await connection.execute(ORDERED_SCAN)
                result = await connection.execute(statement)
                keys, rows = list(result.keys()), result.all()
            row_ids = [row[-1] for row in rows] if postgres else None
            batch = SqlDeliveryBatch(messages_from_rows(keys, rows), connection, _row_ids=row_ids)
            yield batch
            with database_errors_as_domain_errors():
                await connection.commit()
            for organization_id, campaign_id in sorted(batch.counted):
                self._changes.changed(organization_id, campaign_id)

    @asynccontextmanager
    async def hand_over_held(
        self, due: Sequence[Message], now: datetime, status: MessageStatus
    ) -> AsyncIterator[Sequence[Message]]:
        """The rows of `due` still held, of campaigns neither paused nor cancelled, marked
        handed over (`status`) and counted, in one statement whose row locks last until the
        block is done: a commit when it ends, a rollback when it raises. The claim and the mark
        of the relay's path were two row versions and two rounds of index entries per message;
        here the block publishes what the mark took (docs/performance.md)."""
        async with self._engine.connect() as connection:
            campaign_ids = sorted({m.campaign_id for m in due})
            values = handed_over_values(status, datetime.now(UTC)) | {"send_after": now}
            statement = (
                update(messages)
                .where(
                    among(connection, messages.c.message_id, [m.message_id for m in due]),
                    messages.c.status == HELD_ROW,
                    messages.c.campaign_id.in_(
                        select(campaigns.c.campaign_id).where(
                            among(connection, campaigns.c.campaign_id, campaign_ids),
                            campaigns.c.status.not_in(HELD),
                        )
                    ),
                )
                .values(values)
                .returning(messages.c.message_id, *CELL_COLUMNS)
            )
            with database_errors_as_domain_errors():
                if is_postgres(connection):
                    await connection.execute(CUSTOM_PLANS)
                rows = (await connection.execute(statement)).all()
                marked = {row[0] for row in rows}
                deltas = handed_over_deltas((Cell(*row[1:]) for row in rows), status)
                counted = deltas.campaigns()
                await SqlMetricLedger(connection).add(deltas.take(), now)
            yield [m for m in due if m.message_id in marked]
            with database_errors_as_domain_errors():
                await connection.commit()
            for organization_id, campaign_id in sorted(counted):
                self._changes.changed(organization_id, campaign_id)
