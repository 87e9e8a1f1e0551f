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
as its batch's status.

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
    ColumnElement,
    DateTime,
    Row,
    Select,
    Text,
    bindparam,
    case,
    cast,
    delete,
    exists,
    func,
    insert,
    literal,
    select,
    type_coerce,
    update,
)
from sqlalchemy.ext.asyncio import AsyncConnection

from adapters.sql.documents import decode_document
from adapters.sql.engine import is_postgres
from adapters.sql.execution.tables import handovers, messages
from adapters.sql.schema import UtcDateTime
from domain.execution.model import Held, Message, MessageStatus
from domain.kernel.channels import Channel
from domain.kernel.paging import decode_page_token, encode_page_token

COLUMNS = (
    "message_id",
    "organization_id",
    "campaign_id",
    "execution_id",
    "user_id",
    "variant_id",
    "channel",
    "recipient",
    "content",
    "content_digest",
    "status",
    "send_after",
    "queued_at",
    "failed_at",
    "error",
    "idempotency_key",
    "handover_id",
    "timezone",
)
IDEMPOTENCY_KEY = "idempotency_key"
DISPATCHING = "dispatching"  # claimed by the executor that wrote it: see its handovers row
CLAIMED = "claimed"  # a handovers row not handed over yet: its messages read as queued
HELD = "held"  # deferred without a throttle slot yet: reads as deferred
UNSENT = (MessageStatus.QUEUED.value, MessageStatus.DEFERRED.value, HELD)

# A message's status as clients see it, for filters.
VISIBLE_STATUS: ColumnElement[str] = case(
    (messages.c.status == HELD, literal(MessageStatus.DEFERRED.value)),
    (messages.c.status != DISPATCHING, messages.c.status),
    (handovers.c.status != CLAIMED, handovers.c.status),
    else_=literal(MessageStatus.QUEUED.value),
)
WITH_HANDOVERS = messages.outerjoin(handovers, handovers.c.handover_id == messages.c.handover_id)
HANDOVER_COLUMNS = (
    VISIBLE_STATUS.label("visible_status"),
    handovers.c.handed_over_at.label("handed_over_at"),
)


def message_row(
    m: Message, idempotency_key: str | None = None, *, handover_id: str | None = None
) -> dict[str, Any]:
    return {
        "message_id": m.message_id,
        "organization_id": m.organization_id,
        "campaign_id": m.campaign_id,
        "execution_id": m.execution_id,
        "user_id": m.user_id,
        "variant_id": m.variant_id,
        "channel": m.channel.value,
        "recipient": m.recipient,
        "content": m.content,
        "content_digest": m.content_digest,
        "status": DISPATCHING if handover_id else _stored_status(m),
        "send_after": m.send_after,
        "queued_at": m.queued_at,
        "failed_at": m.failed_at,
        "error": m.error,
        IDEMPOTENCY_KEY: idempotency_key,
        "handover_id": handover_id,
        "timezone": m.timezone,
    }


def _stored_status(m: Message) -> str:
    return HELD if m.held else m.status.value


def message_from_row(row: Mapping[Any, Any]) -> Message:
    """A row selected from WITH_HANDOVERS with HANDOVER_COLUMNS."""
    status, sent_at, delivered_at = row["visible_status"], row["sent_at"], row["delivered_at"]
    if row["status"] == DISPATCHING:  # handed over as a batch: its instant is the rows' own
        if status != MessageStatus.QUEUED.value:
            sent_at = row["handed_over_at"]
        if status == MessageStatus.DELIVERED.value:
            delivered_at = row["handed_over_at"]
    return Message(
        message_id=row["message_id"],
        execution_id=row["execution_id"],
        campaign_id=row["campaign_id"],
        organization_id=row["organization_id"],
        user_id=row["user_id"],
        variant_id=row["variant_id"],
        channel=Channel(row["channel"]),
        recipient=row["recipient"],
        content=dict(row["content"]),
        send_after=row["send_after"],
        queued_at=row["queued_at"],
        status=_STATUSES.get(status) or MessageStatus(status),
        content_digest=row["content_digest"],
        sent_at=sent_at,
        delivered_at=delivered_at,
        failed_at=row["failed_at"],
        error=row["error"],
        held=row["status"] == HELD,
        timezone=row["timezone"],
    )


_CHANNELS = {c.value: c for c in Channel}
_STATUSES = {s.value: s for s in MessageStatus} | {
    DISPATCHING: MessageStatus.QUEUED,
    HELD: MessageStatus.DEFERRED,
}


def content_text_columns(*, postgres: bool = False) -> list[ColumnElement[Any]]:
    """The messages columns, `content` as JSON text: for `messages_from_rows`.

    On Postgres the timestamps come as asyncpg decodes them, aware and in UTC, which is exactly
    what UtcDateTime would make of them, without its Python call per value.
    """
    return [
        cast(c, Text).label(c.name)
        if c is messages.c.content
        else type_coerce(c, DateTime(timezone=True)).label(c.name)
        if postgres and isinstance(c.type, UtcDateTime)
        else c
        for c in messages.columns
    ]


def messages_from_rows(keys: Sequence[str], rows: Sequence[Row[Any]]) -> list[Message]:
    """`message_from_row` of many rows selected with `content_text_columns`, by position.

    The delivery relay reads every message once more to publish it; a RowMapping and an Enum
    call per field, and the driver's json.loads per content, were most of that read's cost.
    """
    at = {key: index for index, key in enumerate(keys)}
    (mid, eid, cid, oid, uid, vid, channel, recipient, content, send_after) = (
        at[name]
        for name in (
            "message_id",
            "execution_id",
            "campaign_id",
            "organization_id",
            "user_id",
            "variant_id",
            "channel",
            "recipient",
            "content",
            "send_after",
        )
    )
    (queued_at, status, digest, sent_at, delivered_at, failed_at, error, zone) = (
        at[name]
        for name in (
            "queued_at",
            "status",
            "content_digest",
            "sent_at",
            "delivered_at",
            "failed_at",
            "error",
            "timezone",
        )
    )
    return [
        Message(
            message_id=row[mid],
            execution_id=row[eid],
            campaign_id=row[cid],
            organization_id=row[oid],
            user_id=row[uid],
            variant_id=row[vid],
            channel=_CHANNELS.get(row[channel]) or Channel(row[channel]),
            recipient=row[recipient],
            content=dict(decode_document(row[content])),
            send_after=row[send_after],
            queued_at=row[queued_at],
            status=_STATUSES.get(row[status]) or MessageStatus(row[status]),
            content_digest=row[digest],
            sent_at=row[sent_at],
            delivered_at=row[delivered_at],
            failed_at=row[failed_at],
            error=row[error],
            held=row[status] == HELD,
            timezone=row[zone],
        )
        for row in rows
    ]


class SqlMessageRepository:
    def __init__(self, connection: AsyncConnection) -> None:
        self._c = connection

    async def add_many(
        self,
        batch: Sequence[Message],
        idempotency_key: str | None = None,
        *,
        claimed: bool = False,
    ) -> None:
        if not batch:
            return
        handover_id = await self._add_handover(batch) if claimed else None
        if is_postgres(self._c) and len(batch) > 1:
            await self._copy(batch, handover_id)
            return
        await self._c.execute(
            insert(messages),
            [message_row(m, idempotency_key, handover_id=handover_id) for m in batch],
        )

    async def mark_claimed(
        self, message_ids: Sequence[str], status: MessageStatus, at: datetime
    ) -> int:
        if not message_ids:
            return 0
        result = await self._c.execute(
            update(handovers)
            .where(handovers.c.handover_id == message_ids[0], handovers.c.status == CLAIMED)
            .values(status=status.value, handed_over_at=at)
            .returning(handovers.c.size)
        )
        size = result.scalar_one_or_none()
        return 0 if size is None else int(size)

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
            await self._c.execute(delete(handovers).where(handovers.c.handover_id == handover_id))
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

    async def _copy(self, batch: Sequence[Message], handover_id: str | None) -> None:
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
            )
            for m in batch
        ]
        await driver.copy_records_to_table("messages", records=records, columns=COLUMNS)

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

    async def held_due(self, execution_id: str, now: datetime, limit: int) -> Sequence[Held]:
        statement = (
            select(
                messages.c.message_id,
                messages.c.channel,
                messages.c.timezone,
                messages.c.send_after,
                messages.c.organization_id,
                messages.c.campaign_id,
            )
            .where(
                messages.c.execution_id == execution_id,
                messages.c.status == HELD,
                messages.c.send_after <= now,
            )
            .order_by(messages.c.send_after, messages.c.message_id)
            .limit(limit)
        )
        rows = (await self._c.execute(statement)).all()
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

    async def claim_held_due(
        self, execution_id: str, now: datetime, limit: int, *, until: datetime
    ) -> Sequence[Held]:
        due = (
            select(messages.c.message_id)
            .where(
                messages.c.execution_id == execution_id,
                messages.c.status == HELD,
                messages.c.send_after <= now,
            )
            .order_by(messages.c.send_after, messages.c.message_id)
            .limit(limit)
        )
        if is_postgres(self._c):
            due = due.with_for_update(skip_locked=True)  # SQLite: writers are serialized
        statement = (
            update(messages)
            .where(messages.c.message_id.in_(due.scalar_subquery()))
            .values(send_after=until)
            .returning(
                messages.c.message_id,
                messages.c.channel,
                messages.c.timezone,
                messages.c.send_after,
                messages.c.organization_id,
                messages.c.campaign_id,
            )
        )
        rows = (await self._c.execute(statement)).all()
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
        result = await self._c.execute(
            update(messages)
            .where(
                messages.c.execution_id == execution_id,
                messages.c.status == HELD if held_only else messages.c.status.in_(UNSENT),
            )
            .values(values)
        )
        return int(result.rowcount)

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


def _select_visible() -> Select[Any]:
    return select(messages, *HANDOVER_COLUMNS).select_from(WITH_HANDOVERS)
