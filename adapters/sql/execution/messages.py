"""MessageRepository on SQL. Batches go in with COPY on Postgres (faster than INSERT for big
batches, docs/performance.md), inside the caller's transaction, so a batch and the
execution checkpoint that covers it commit together or not at all.

Claimed messages (the executor hands them over itself, right after the commit) are stored with
the status `dispatching` and the id of their batch's `handovers` row, outside the relay's
partial index, so the relay never sees them. The batch is marked as a whole: its handovers row
goes from `claimed` to `sent` (or `delivered`), and the rows read as that status from then on,
with the batch's hand-over instant as their `sent_at`. Marking message rows one by one rewrote
a wide row and all its index entries per message (docs/performance.md). Everywhere outside this
module a claimed row reads as `queued`, which is what it is to a client, and a handed-over one
as its batch's status. The first delivery report of such a row writes it back with its own
status and no handover_id (adapters/sql/execution/feedback.py): from then on it reads its own
status, so neither a late mark of its batch nor a release of the batch's claims can move it back.
The row mapping itself is in adapters/sql/execution/message_rows.py.

A message deferred by a rate limit is stored `deferred` (it holds its throttle slot: the relay
hands it over when the slot comes); one held by quiet hours, a weekend or a pause is stored
`held` (no slot yet: the executor reserves one when the window ends, domain.execution.slots)
and reads as `deferred`. The relay's partial index covers queued and deferred rows; held rows
have their own, per execution.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import (
    Select,
    bindparam,
    delete,
    exists,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncConnection

from adapters.sql.audience.connections import chunked
from adapters.sql.audience.stores import dialect_insert
from adapters.sql.engine import is_postgres
from adapters.sql.execution.feedback import apply_report, apply_reports
from adapters.sql.execution.message_rows import (
    CLAIMED,
    COLUMNS,
    DISPATCHING,
    HANDOVER_COLUMNS,
    HELD,
    IDEMPOTENCY_KEY,
    UNSENT,
    VISIBLE_STATUS,
    WITH_HANDOVERS,
    content_text_columns,
    message_from_row,
    message_row,
    messages_from_rows,
)
from adapters.sql.execution.tables import executions, handovers, messages
from adapters.sql.metrics.segments import CampaignSegments
from adapters.sql.outbox import UNTRACED
from domain.execution.feedback import Applied, Report
from domain.execution.model import TRIGGERED_EXECUTION, Held, Message, MessageStatus
from domain.kernel.channels import Channel
from domain.kernel.paging import decode_page_token, encode_page_token
from domain.kernel.ports import TraceContext
from domain.metrics.deltas import Deltas
from domain.metrics.model import Cell

__all__ = [
    "CELL_COLUMNS",
    "COLUMNS",
    "DISPATCHING",
    "IDEMPOTENCY_KEY",
    "SqlMessageRepository",
    "content_text_columns",
    "message_from_row",
    "message_row",
    "messages_from_rows",
]
_CHANNELS = {c.value: c for c in Channel}
# Never sent, so not counted by the marketing frequency cap (nor is a FAILED one never sent).
NOT_COUNTED = (MessageStatus.SUPPRESSED.value, MessageStatus.CANCELLED.value)


class SqlMessageRepository:
    """Every write that creates a message or stamps a state adds what it counts to `deltas`
    (domain.metrics.deltas), which the unit of work adds to the metric ledger in the same
    transaction when it commits (adapters/sql/unit_of_work.py)."""

    def __init__(
        self,
        connection: AsyncConnection,
        deltas: Deltas,
        segments: CampaignSegments | None = None,
        trace: TraceContext = UNTRACED,
    ) -> None:
        """`trace`: what a message written alone records of the work that wrote it (a run's
        batches record nothing: their hand-over carries the run's trace)."""
        self._c = connection
        self._deltas = deltas
        self._segments = segments or CampaignSegments()
        self._trace = trace

    async def add_many(
        self,
        batch: Sequence[Message],
        idempotency_key: str | None = None,
        *,
        claimed: bool = False,
    ) -> None:
        if not batch:
            return
        segments = await self._segments.of(self._c, {m.campaign_id for m in batch})
        handover_id = await self._add_handover(batch) if claimed else None
        if is_postgres(self._c) and len(batch) > 1:
            await self._copy(batch, handover_id, segments)
        else:
            trace_context = self._trace.current() if len(batch) == 1 else None
            await self._c.execute(
                insert(messages),
                [
                    message_row(
                        m,
                        idempotency_key,
                        handover_id=handover_id,
                        segment_id=m.segment_id or segments[m.campaign_id],
                        trace_context=trace_context,
                    )
                    for m in batch
                ],
            )
        self._deltas.add_written(batch, segments)

    async def record_holdouts(
        self, organization_id: str, campaign_id: str, execution_id: str, count: int
    ) -> None:
        self._deltas.add_holdout(organization_id, campaign_id, execution_id, count)

    async def mark_claimed(
        self, message_ids: Sequence[str], status: MessageStatus, at: datetime
    ) -> int:
        if not message_ids:
            return 0
        result = await self._c.execute(
            update(handovers)
            .where(handovers.c.handover_id == message_ids[0], handovers.c.status == CLAIMED)
            .values(status=status.value, handed_over_at=at)
            .returning(
                handovers.c.size,
                handovers.c.execution_id,
                handovers.c.first_user_id,
                handovers.c.last_user_id,
            )
        )
        marked = result.first()
        if marked is None:
            return 0
        size, execution_id, first_user_id, last_user_id = marked
        await self._count_marked(message_ids[0], execution_id, first_user_id, last_user_id, status)
        return int(size)

    async def _count_marked(
        self,
        handover_id: str,
        execution_id: str,
        first_user_id: str,
        last_user_id: str,
        status: MessageStatus,
    ) -> None:
        """A marked batch's counters: its rows still reading their batch's status, per cell, in
        one grouped read of the batch (no message row is written). Rows a report reached first
        were written back with their own status (and counted by that report), so they are not
        counted again. This statement runs after the handovers update: on Postgres a report
        applying meanwhile reads the handovers row FOR SHARE (feedback.py), so either it
        committed before the update and its row is not the batch's any more here, or it waits
        for this transaction and then reads the row as sent."""
        cell = (
            messages.c.organization_id,
            messages.c.campaign_id,
            messages.c.variant_id,
            messages.c.channel,
            messages.c.segment_id,
        )
        rows = await self._c.execute(
            select(*cell, func.count())
            .where(
                messages.c.execution_id == execution_id,
                messages.c.user_id >= first_user_id,
                messages.c.user_id <= last_user_id,
                messages.c.handover_id == handover_id,
                messages.c.status == DISPATCHING,
            )
            .group_by(*cell)
        )
        reached = [MessageStatus.SENT]
        if status is MessageStatus.DELIVERED:
            reached.append(MessageStatus.DELIVERED)
        for organization_id, campaign_id, variant_id, channel, segment_id, count in rows:
            key = Cell(organization_id, campaign_id, execution_id, variant_id, channel, segment_id)
            for state in reached:
                self._deltas.add_count(key, state, int(count))

    async def release_claims(self, execution_id: str) -> int:
        claimed = (
            await self._c.execute(
                select(
                    handovers.c.handover_id, handovers.c.first_user_id, handovers.c.last_user_id
                ).where(handovers.c.execution_id == execution_id, handovers.c.status == CLAIMED)
            )
        ).all()
        released = 0
        for handover_id, first_user_id, last_user_id in claimed:
            # The batch's row goes first, and only while still claimed: a mark of the batch
            # racing this release (its executor woke up after losing its lease) either finds it
            # gone and counts nothing, or marked it first and the batch is left alone. Either
            # way its messages count `sent` once (docs/metrics.md).
            gone = await self._c.execute(
                delete(handovers)
                .where(handovers.c.handover_id == handover_id, handovers.c.status == CLAIMED)
                .returning(handovers.c.handover_id)
            )
            if gone.first() is None:
                continue
            # The user range walks (execution_id, user_id) to the batch's rows.
            result = await self._c.execute(
                update(messages)
                .where(
                    messages.c.execution_id == execution_id,
                    messages.c.user_id >= first_user_id,
                    messages.c.user_id <= last_user_id,
                    messages.c.handover_id == handover_id,
                )
                .values(status=MessageStatus.QUEUED.value, handover_id=None)
            )
            released += int(result.rowcount)
        return released

    async def _add_handover(self, batch: Sequence[Message]) -> str:
        """The batch's handovers row, claimed; its id is the batch's first message id."""
        user_ids = [m.user_id for m in batch]
        handover_id = batch[0].message_id
        await self._c.execute(
            insert(handovers).values(
                handover_id=handover_id,
                execution_id=batch[0].execution_id,
                status=CLAIMED,
                first_user_id=min(user_ids),
                last_user_id=max(user_ids),
                size=len(batch),
            )
        )
        return handover_id

    async def _copy(
        self, batch: Sequence[Message], handover_id: str | None, segments: Mapping[str, str]
    ) -> None:
        raw = await self._c.get_raw_connection()
        driver = raw.driver_connection  # the asyncpg connection, inside our transaction
        assert driver is not None
        status = DISPATCHING if handover_id else None
        records = [
            (
                m.message_id,
                m.organization_id,
                m.campaign_id,
                m.execution_id,
                m.user_id,
                m.variant_id,
                m.channel.value,
                m.recipient,
                orjson.dumps(m.content).decode(),
                m.content_digest,
                status or (HELD if m.held else m.status.value),
                m.send_after,
                m.queued_at,
                m.failed_at,
                m.error,
                None,
                handover_id,
                m.timezone,
                m.segment_id or segments[m.campaign_id],
            )
            for m in batch
        ]
        await driver.copy_records_to_table("messages", records=records, columns=COLUMNS)

    async def apply_report(
        self, organization_id: str, message_id: str, report: Report
    ) -> Applied | None:
        return await apply_report(self._c, organization_id, message_id, report, self._deltas)

    async def apply_reports(
        self, reports: Sequence[tuple[str, str, Report]]
    ) -> list[Applied | None]:
        return await apply_reports(self._c, reports, self._deltas)

    async def add_fallback(self, message: Message) -> bool:
        """Insert one fallback message unless its (derived) id exists; whether it was new."""
        segments = await self._segments.of(self._c, [message.campaign_id])
        segment_id = message.segment_id or segments[message.campaign_id]
        statement = (
            dialect_insert(self._c, messages)
            .values(
                message_row(message, segment_id=segment_id, trace_context=self._trace.current())
            )
            .on_conflict_do_nothing(index_elements=[messages.c.message_id])
        )
        added = bool((await self._c.execute(statement)).rowcount)
        if added:
            self._deltas.add_written([message], segments)
        return added

    async def marketing_counts(
        self, organization_id: str, user_ids: Sequence[str], since: datetime
    ) -> dict[str, int]:
        """One statement per 1,000 users. It reaches the messages through the (execution_id,
        user_id) index, probing the organization's runs that may have queued messages since
        `since` (not finished before it), so the 1M-row COPY of a run pays for no index of its
        own, and the triggered messages under theirs; transactional messages are stored under an
        execution id of their own and never match."""
        runs = select(executions.c.execution_id).where(
            executions.c.organization_id == organization_id,
            or_(executions.c.completed_at.is_(None), executions.c.completed_at >= since),
        )
        counted: dict[str, int] = {}
        for chunk in chunked(sorted(set(user_ids))):
            rows = await self._c.execute(
                select(messages.c.user_id, func.count())
                .where(
                    or_(
                        messages.c.execution_id.in_(runs),
                        messages.c.execution_id == TRIGGERED_EXECUTION,
                    ),
                    messages.c.user_id.in_(chunk),
                    messages.c.queued_at >= since,
                    messages.c.status.not_in(NOT_COUNTED),
                    messages.c.fallback_of.is_(None),  # the original counted already
                    or_(
                        messages.c.status != MessageStatus.FAILED.value,
                        messages.c.sent_at.is_not(None),
                    ),
                )
                .group_by(messages.c.user_id)
            )
            counted.update({user_id: int(count) for user_id, count in rows})
        return counted

    async def get(self, organization_id: str, message_id: str) -> Message | None:
        row = (
            (
                await self._c.execute(
                    _select_visible().where(
                        messages.c.organization_id == organization_id,
                        messages.c.message_id == message_id,
                    )
                )
            )
            .mappings()
            .first()
        )
        return None if row is None else message_from_row(row)

    async def by_idempotency_key(
        self, organization_id: str, campaign_id: str, key: str
    ) -> Message | None:
        row = (
            (
                await self._c.execute(
                    _select_visible().where(
                        messages.c.organization_id == organization_id,
                        messages.c.campaign_id == campaign_id,
                        messages.c.idempotency_key == key,
                    )
                )
            )
            .mappings()
            .first()
        )
        return None if row is None else message_from_row(row)

    async def list(
        self,
        organization_id: str,
        campaign_id: str,
        *,
        execution_id: str = "",
        user_id: str = "",
        statuses: Sequence[MessageStatus] = (),
        after: str = "",
        limit: int = 50,
    ) -> tuple[Sequence[Message], str]:
        """In message_id order; `after` is the page token of the previous page, cut for the
        same filters (domain.kernel.paging)."""
        query = (
            "messages",
            campaign_id,
            execution_id,
            user_id,
            tuple(sorted({s.value for s in statuses})),
        )
        position = decode_page_token(after, query, size=1)
        where = [
            messages.c.organization_id == organization_id,
            messages.c.campaign_id == campaign_id,
        ]
        if position is not None:
            where.append(messages.c.message_id > position[0])
        if execution_id:
            where.append(messages.c.execution_id == execution_id)
        if user_id:
            where.append(messages.c.user_id == user_id)
        if statuses:
            where.append(VISIBLE_STATUS.in_([s.value for s in statuses]))
        statement = _select_visible().where(*where).order_by(messages.c.message_id).limit(limit + 1)
        found = [message_from_row(r) for r in (await self._c.execute(statement)).mappings()]
        page = found[:limit]
        last = (page[-1].message_id,) if len(found) > limit else None
        return page, encode_page_token(last, query)

    async def any_pending(self, execution_id: str) -> bool:
        # An "any left?" probe, polled while deferred messages wait: never a count over a
        # million-row execution.
        queued = select(messages.c.message_id).where(
            messages.c.status.in_(UNSENT),
            messages.c.execution_id == execution_id,
        )
        claimed = select(handovers.c.handover_id).where(
            handovers.c.execution_id == execution_id, handovers.c.status == CLAIMED
        )
        found = await self._c.execute(select(exists(queued.limit(1)) | exists(claimed.limit(1))))
        return bool(found.scalar_one())

    async def held_due(
        self, execution_id: str, now: datetime, limit: int, *, not_before: datetime | None = None
    ) -> Sequence[Held]:
        statement = _due_held(execution_id, now, limit, *HELD_COLUMNS, not_before=not_before)
        return _held((await self._c.execute(statement)).all())

    async def claim_held_due(
        self,
        execution_id: str,
        now: datetime,
        limit: int,
        *,
        until: datetime,
        not_before: datetime | None = None,
    ) -> Sequence[Held]:
        due = _due_held(execution_id, now, limit, messages.c.message_id, not_before=not_before)
        if is_postgres(self._c):
            due = due.with_for_update(skip_locked=True)  # SQLite: writers are serialized
        statement = (
            update(messages)
            .where(messages.c.message_id.in_(due.scalar_subquery()))
            .values(send_after=until)
            .returning(*HELD_COLUMNS)
        )
        return _held((await self._c.execute(statement)).all())

    async def release_held(self, released: Sequence[Held]) -> None:
        if not released:
            return
        # One statement for the whole batch (executemany): a release of thousands of messages
        # is not thousands of round trips.
        await self._c.execute(
            update(messages)
            .where(messages.c.message_id == bindparam("b_message_id"), messages.c.status == HELD)
            .values(status=bindparam("b_status"), send_after=bindparam("b_send_after")),
            [
                {
                    "b_message_id": h.message_id,
                    "b_status": HELD if h.held else MessageStatus.DEFERRED.value,
                    "b_send_after": h.send_after,
                }
                for h in released
            ],
        )

    async def cancel_held(self, message_ids: Sequence[str], error: str) -> int:
        if not message_ids:
            return 0
        result = await self._c.execute(
            update(messages)
            .where(messages.c.message_id.in_(list(message_ids)), messages.c.status == HELD)
            .values(status=MessageStatus.CANCELLED.value, error=error)
        )
        return int(result.rowcount)

    async def hold_missed(self, execution_id: str, now: datetime) -> int:
        result = await self._c.execute(
            update(messages)
            .where(
                messages.c.execution_id == execution_id,
                messages.c.status.in_((MessageStatus.QUEUED.value, MessageStatus.DEFERRED.value)),
                messages.c.send_after < now,
            )
            .values(status=HELD, send_after=now)
        )
        return int(result.rowcount)

    async def close_unsent(
        self, execution_id: str, status: MessageStatus, error: str, at: datetime, *, held_only: bool
    ) -> int:
        values: dict[str, object] = {"status": status.value, "error": error}
        if status is MessageStatus.FAILED:
            values["failed_at"] = at
        statement = (
            update(messages)
            .where(
                messages.c.execution_id == execution_id,
                messages.c.status == HELD if held_only else messages.c.status.in_(UNSENT),
            )
            .values(values)
        )
        if status is not MessageStatus.FAILED:
            return int((await self._c.execute(statement)).rowcount)
        # Failing stamps failed_at (an unsent row never has one): count the rows per cell.
        failed: dict[Cell, int] = {}
        for row in await self._c.execute(statement.returning(*CELL_COLUMNS)):
            cell = Cell(*row)
            failed[cell] = failed.get(cell, 0) + 1
        for cell, count in failed.items():
            self._deltas.add_count(cell, MessageStatus.FAILED, count)
        return sum(failed.values())

    async def status_counts(self, execution_id: str) -> dict[MessageStatus, int]:
        visible = VISIBLE_STATUS.label("visible_status")
        statement = (
            select(visible, func.count())
            .select_from(WITH_HANDOVERS)
            .where(messages.c.execution_id == execution_id)
            .group_by(visible)
        )
        rows = (await self._c.execute(statement)).all()
        return {MessageStatus(status): int(count) for status, count in rows}


# A message's metrics cell (domain.metrics.model.Cell), in the Cell's field order.
CELL_COLUMNS = (
    messages.c.organization_id,
    messages.c.campaign_id,
    messages.c.execution_id,
    messages.c.variant_id,
    messages.c.channel,
    messages.c.segment_id,
)


def _select_visible() -> Select[Any]:
    return select(messages, *HANDOVER_COLUMNS).select_from(WITH_HANDOVERS)


# What a held message's release needs of it, in the order `_held` reads them.
HELD_COLUMNS = (
    messages.c.message_id,
    messages.c.channel,
    messages.c.timezone,
    messages.c.send_after,
    messages.c.organization_id,
    messages.c.campaign_id,
)


def _due_held(
    execution_id: str, now: datetime, limit: int, *columns: Any, not_before: datetime | None
) -> Select[Any]:
    """The execution's held messages whose window has ended by `now`, earliest first; from
    `not_before` on when given, so the scan of ix_messages_held starts there instead of walking
    the entries of every message released since the index was last vacuumed."""
    where = [
        messages.c.execution_id == execution_id,
        messages.c.status == HELD,
        messages.c.send_after <= now,
    ]
    if not_before is not None:
        where.append(messages.c.send_after >= not_before)
    return (
        select(*columns)
        .where(*where)
        .order_by(messages.c.send_after, messages.c.message_id)
        .limit(limit)
    )


def _held(rows: Sequence[Any]) -> list[Held]:
    """Rows of (message_id, channel, timezone, send_after, organization_id, campaign_id)."""
    return [
        Held(
            message_id,
            _CHANNELS.get(channel) or Channel(channel),
            zone,
            send_after,
            organization_id=organization_id,
            campaign_id=campaign_id,
        )
        for message_id, channel, zone, send_after, organization_id, campaign_id in rows
    ]
