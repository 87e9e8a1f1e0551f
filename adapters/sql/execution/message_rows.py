"""Rows of the messages table <-> Message, and how a row reads to clients (its visible status):
the mapping adapters/sql/execution/messages.py documents, shared with the delivery relay and the
feedback writer (adapters/sql/execution/feedback.py).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import ColumnElement, DateTime, Row, Text, case, cast, literal, type_coerce

from adapters.sql.documents import decode_document
from adapters.sql.execution.tables import handovers, messages
from adapters.sql.schema import UtcDateTime
from domain.execution.model import Message, MessageStatus
from domain.kernel.channels import Channel

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
    "segment_id",
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
    m: Message,
    idempotency_key: str | None = None,
    *,
    handover_id: str | None = None,
    segment_id: str | None = None,
    trace_context: str | None = None,
) -> dict[str, Any]:
    """`segment_id`, `trace_context`: the message's own unless given (the store fills them)."""
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
        "fallback_of": m.fallback_of or None,
        "segment_id": m.segment_id if segment_id is None else segment_id,
        "trace_context": trace_context or m.trace_context,
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
        opened_at=row["opened_at"],
        clicked_at=row["clicked_at"],
        converted_at=row["converted_at"],
        bounced_at=row["bounced_at"],
        unsubscribed_at=row["unsubscribed_at"],
        bounce_type=row["bounce_type"],
        provider_message_id=row["provider_message_id"],
        fallback_of=row["fallback_of"] or "",
        segment_id=row["segment_id"],
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
    trace = at.get("trace_context")
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
    (queued_at, status, digest, sent_at, delivered_at, failed_at, error, zone, fallback, seg) = (
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
            "fallback_of",
            "segment_id",
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
            fallback_of=row[fallback] or "",
            segment_id=row[seg],
            trace_context=row[trace] if trace is not None else None,
        )
        for row in rows
    ]
