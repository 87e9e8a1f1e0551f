"""Applying one delivery report to a stored message (MessageRepository.apply_report).

Race-safe across replicas: the message row is read FOR UPDATE on Postgres, and on SQLite every
writing transaction starts with BEGIN IMMEDIATE (adapters/sql/engine.py), so two reports of one
message apply one after the other, each to what the other committed. The new state itself is
worked out by domain.execution.feedback.advance, a join, so their order does not matter.

A message still stored `dispatching` (its batch's status lives in the `handovers` row, see
adapters/sql/execution/messages.py) is read as its batch says (sent, with the hand-over instant
as sent_at; or queued while still claimed) and written back with its own status and no
handover_id: it reads its own status from then on, a later mark of the batch cannot move it back,
and a release of the batch's claims no longer finds it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from adapters.sql.audience.connections import chunked
from adapters.sql.engine import is_postgres
from adapters.sql.execution.message_rows import CLAIMED, DISPATCHING, HELD, message_from_row
from adapters.sql.execution.tables import handovers, messages
from adapters.sql.id_lists import among
from domain.execution.feedback import (
    Applied,
    Report,
    advance,
    progress_of,
    with_progress,
)
from domain.execution.model import Message, MessageStatus
from domain.metrics.deltas import Deltas, cell_of, hits, progressed


async def apply_report(
    connection: AsyncConnection,
    organization_id: str,
    message_id: str,
    report: Report,
    deltas: Deltas,
) -> Applied | None:
    [applied] = await apply_reports(connection, [(organization_id, message_id, report)], deltas)
    return applied


async def apply_reports(
    connection: AsyncConnection, reports: Sequence[tuple[str, str, Report]], deltas: Deltas
) -> list[Applied | None]:
    """Each (organization_id, message_id, report) in order, as `apply_report` would one after
    the other: one read of the rows (locked), one of their batches, one write of those that
    changed. What each report counts goes to `deltas` (domain.metrics.deltas): the states it
    made the message reach, and its open or click hit."""
    message_ids = sorted({m for _, m, _ in reports})
    if is_postgres(connection):
        await _lock_batches(connection, message_ids)
    rows = await _locked_rows(connection, message_ids)
    current = {m: message_from_row(v) for m, v in (await _visible(connection, rows)).items()}
    changed: set[str] = set()
    out: list[Applied | None] = []
    for organization_id, message_id, report in reports:
        message = current.get(message_id)
        if message is None or message.organization_id != organization_id:
            out.append(None)
            continue
        before = progress_of(message)
        after = advance(before, report)
        if after != before:
            message = current[message_id] = with_progress(message, after)
            changed.add(message_id)
        cell = cell_of(message)
        deltas.add(cell, progressed(before, after))
        deltas.add(cell, hits(before, report))
        out.append(Applied(message, before, after))
    if changed:
        await connection.execute(
            update(messages)
            .where(messages.c.message_id == bindparam("b_message_id"))
            .values({name: bindparam(f"b_{name}") for name in (*_COLUMNS, "handover_id")}),
            [
                {"b_message_id": m, "b_handover_id": None, **_columns(current[m])}
                for m in sorted(changed)
            ],
        )
    return out


async def _lock_batches(connection: AsyncConnection, message_ids: Sequence[str]) -> None:
    """The handovers rows of the messages still under a batch, locked FOR SHARE before the
    messages themselves: a batch's mark (an UPDATE of that row) and its release (a DELETE) take
    it before they touch its messages too, so the three never wait for each other in opposite
    orders, and a report never sees a batch half marked (the metric counters count each
    message's `sent` once, see SqlMessageRepository._count_marked). A message joins no batch
    after it is written, so the batches read here, unlocked, are all it can be under."""
    for chunk in chunked(message_ids):
        batches = (
            select(messages.c.handover_id)
            .where(
                among(connection, messages.c.message_id, chunk), messages.c.status == DISPATCHING
            )
            .scalar_subquery()
        )
        await connection.execute(
            select(handovers.c.handover_id)
            .where(handovers.c.handover_id.in_(batches))
            .order_by(handovers.c.handover_id)
            .with_for_update(read=True)
        )


async def _locked_rows(
    connection: AsyncConnection, message_ids: Sequence[str]
) -> dict[str, dict[str, Any]]:
    """The rows, locked until the transaction ends on Postgres (in id order: two batches lock
    their common rows in the same order, so they wait for each other but never deadlock)."""
    found: dict[str, dict[str, Any]] = {}
    for chunk in chunked(message_ids):
        statement = select(messages).where(among(connection, messages.c.message_id, chunk))
        if is_postgres(connection):
            statement = statement.order_by(messages.c.message_id).with_for_update()
        for row in (await connection.execute(statement)).mappings():
            found[row["message_id"]] = dict(row)
    return found


async def _visible(
    connection: AsyncConnection, rows: dict[str, dict[str, Any]]
) -> dict[str, dict[str, Any]]:
    """The rows with the columns message_from_row reads from the handovers join (their batches
    are locked already on Postgres, see `_lock_batches`)."""
    batch_ids = sorted({r["handover_id"] for r in rows.values() if r["status"] == DISPATCHING})
    batches: dict[str, tuple[str, Any]] = {}
    for chunk in chunked(batch_ids):
        statement = select(
            handovers.c.handover_id, handovers.c.status, handovers.c.handed_over_at
        ).where(among(connection, handovers.c.handover_id, chunk))
        for handover_id, status, handed_over_at in await connection.execute(statement):
            batches[handover_id] = (status, handed_over_at)
    for row in rows.values():
        row["handed_over_at"] = None
        if row["status"] == HELD:
            row["visible_status"] = MessageStatus.DEFERRED.value
        elif row["status"] != DISPATCHING:
            row["visible_status"] = row["status"]
        else:
            status, handed_over_at = batches.get(row["handover_id"], (CLAIMED, None))
            claimed = status == CLAIMED
            row["visible_status"] = MessageStatus.QUEUED.value if claimed else status
            row["handed_over_at"] = None if claimed else handed_over_at
    return rows


_COLUMNS = (
    "status",
    "sent_at",
    "delivered_at",
    "opened_at",
    "clicked_at",
    "converted_at",
    "failed_at",
    "bounced_at",
    "unsubscribed_at",
    "bounce_type",
    "error",
    "provider_message_id",
)


def _columns(message: Message) -> dict[str, object]:
    """The feedback columns of a message, as bind parameters of the update."""
    return {
        "b_status": message.status.value,
        "b_sent_at": message.sent_at,
        "b_delivered_at": message.delivered_at,
        "b_opened_at": message.opened_at,
        "b_clicked_at": message.clicked_at,
        "b_converted_at": message.converted_at,
        "b_failed_at": message.failed_at,
        "b_bounced_at": message.bounced_at,
        "b_unsubscribed_at": message.unsubscribed_at,
        "b_bounce_type": message.bounce_type,
        "b_error": message.error,
        "b_provider_message_id": message.provider_message_id,
    }
