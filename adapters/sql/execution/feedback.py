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

from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from adapters.sql.engine import is_postgres
from adapters.sql.execution.message_rows import CLAIMED, DISPATCHING, HELD, message_from_row
from adapters.sql.execution.tables import handovers, messages
from domain.execution.feedback import (
    Applied,
    Progress,
    Report,
    advance,
    progress_of,
    with_progress,
)
from domain.execution.model import MessageStatus


async def apply_report(
    connection: AsyncConnection, organization_id: str, message_id: str, report: Report
) -> Applied | None:
    statement = select(messages).where(
        messages.c.organization_id == organization_id, messages.c.message_id == message_id
    )
    if is_postgres(connection):
        statement = statement.with_for_update()
    row = (await connection.execute(statement)).mappings().first()
    if row is None:
        return None
    message = message_from_row(await _as_visible(connection, row))
    before = progress_of(message)
    after = advance(before, report)
    if after == before:
        return Applied(message, before, after)
    await connection.execute(
        update(messages)
        .where(messages.c.message_id == message_id)
        .values({**_columns(after), "handover_id": None})
    )
    return Applied(with_progress(message, after), before, after)


async def _as_visible(connection: AsyncConnection, row: Any) -> dict[str, Any]:
    """The row with the columns message_from_row reads from the handovers join."""
    visible: dict[str, Any] = dict(row)
    visible["handed_over_at"] = None
    if row["status"] == HELD:
        visible["visible_status"] = MessageStatus.DEFERRED.value
    elif row["status"] != DISPATCHING:
        visible["visible_status"] = row["status"]
    else:
        batch = (
            await connection.execute(
                select(handovers.c.status, handovers.c.handed_over_at).where(
                    handovers.c.handover_id == row["handover_id"]
                )
            )
        ).first()
        if batch is None or batch.status == CLAIMED:
            visible["visible_status"] = MessageStatus.QUEUED.value
        else:
            visible["visible_status"] = batch.status
            visible["handed_over_at"] = batch.handed_over_at
    return visible


def _columns(progress: Progress) -> dict[str, object]:
    return {
        "status": progress.status.value,
        "sent_at": progress.sent_at,
        "delivered_at": progress.delivered_at,
        "opened_at": progress.opened_at,
        "clicked_at": progress.clicked_at,
        "converted_at": progress.converted_at,
        "failed_at": progress.failed_at,
        "bounced_at": progress.bounced_at,
        "unsubscribed_at": progress.unsubscribed_at,
        "bounce_type": progress.bounce_type.value,
        "error": progress.error,
        "provider_message_id": progress.provider_message_id,
    }
