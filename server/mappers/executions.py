"""Domain -> proto for executions and messages."""

from __future__ import annotations

from typing import Any

from campaign.v1 import execution_pb2 as xpb

from domain.campaigns.webhooks import split_headers
from domain.execution.model import (
    Execution,
    ExecutionStatus,
    Message,
    MessageStatus,
    reported_execution_id,
)
from domain.execution.suppression_notes import suppression_reason_of
from domain.kernel.channels import Channel
from server.mappers import enums
from server.mappers.audience import REASONS_OUT
from server.mappers.common import invert, set_timestamp

EXECUTION_STATUSES: dict[int, ExecutionStatus] = {
    xpb.EXECUTION_STATUS_PENDING: ExecutionStatus.PENDING,
    xpb.EXECUTION_STATUS_RUNNING: ExecutionStatus.RUNNING,
    xpb.EXECUTION_STATUS_PAUSED: ExecutionStatus.PAUSED,
    xpb.EXECUTION_STATUS_COMPLETED: ExecutionStatus.COMPLETED,
    xpb.EXECUTION_STATUS_CANCELLED: ExecutionStatus.CANCELLED,
    xpb.EXECUTION_STATUS_FAILED: ExecutionStatus.FAILED,
}
MESSAGE_STATUSES: dict[int, MessageStatus] = {
    xpb.MESSAGE_STATUS_QUEUED: MessageStatus.QUEUED,
    xpb.MESSAGE_STATUS_DEFERRED: MessageStatus.DEFERRED,
    xpb.MESSAGE_STATUS_SENT: MessageStatus.SENT,
    xpb.MESSAGE_STATUS_DELIVERED: MessageStatus.DELIVERED,
    xpb.MESSAGE_STATUS_OPENED: MessageStatus.OPENED,
    xpb.MESSAGE_STATUS_CLICKED: MessageStatus.CLICKED,
    xpb.MESSAGE_STATUS_CONVERTED: MessageStatus.CONVERTED,
    xpb.MESSAGE_STATUS_BOUNCED: MessageStatus.BOUNCED,
    xpb.MESSAGE_STATUS_FAILED: MessageStatus.FAILED,
    xpb.MESSAGE_STATUS_UNSUBSCRIBED: MessageStatus.UNSUBSCRIBED,
    xpb.MESSAGE_STATUS_SUPPRESSED: MessageStatus.SUPPRESSED,
    xpb.MESSAGE_STATUS_CANCELLED: MessageStatus.CANCELLED,
}
BOUNCE_TYPES_OUT: dict[str, Any] = {  # Any: each proto enum is its own int NewType
    "": xpb.BOUNCE_TYPE_UNSPECIFIED,
    "soft": xpb.BOUNCE_TYPE_SOFT,
    "hard": xpb.BOUNCE_TYPE_HARD,
}
EXECUTION_STATUSES_OUT = invert(EXECUTION_STATUSES)
MESSAGE_STATUSES_OUT = invert(MESSAGE_STATUSES)


def execution_to_proto(
    e: Execution, by_status: dict[MessageStatus, int] | None = None
) -> xpb.Execution:
    c = e.counts
    out = xpb.Execution(
        execution_id=e.execution_id,
        campaign_id=e.campaign_id,
        status=EXECUTION_STATUSES_OUT[e.status],
        trigger=e.trigger,
        audience_size=c.audience,
        holdout_size=c.holdout,
        # skipped for suppressions or opt-outs: suppressed on, or not reachable on, every channel
        suppressed_count=c.suppressed + c.unreachable,
        failure_reason=e.failure_reason,
        missed_firing=e.missed_firing,
    )
    for status, count in (by_status or {MessageStatus.QUEUED: c.queued}).items():
        setattr(out.counts, status.value, count)
    set_timestamp(out.started_at, e.started_at)
    set_timestamp(out.completed_at, e.completed_at)
    return out


MESSAGE_TIMESTAMPS = (
    "send_after",
    "queued_at",
    "sent_at",
    "delivered_at",
    "opened_at",
    "clicked_at",
    "converted_at",
    "bounced_at",
    "failed_at",
    "unsubscribed_at",
)


def message_to_proto(m: Message) -> xpb.Message:
    out = xpb.Message(
        message_id=m.message_id,
        campaign_id=m.campaign_id,
        execution_id=reported_execution_id(m),
        user_id=m.user_id,
        variant_id=m.variant_id,
        channel=enums.CHANNELS_OUT[m.channel],
        status=MESSAGE_STATUSES_OUT[m.status],
        recipient=m.recipient,
        error=m.error,
        content_digest=m.content_digest,
        bounce_type=BOUNCE_TYPES_OUT[m.bounce_type],
        provider_message_id=m.provider_message_id,
    )
    reason = suppression_reason_of(m)
    if reason is not None:
        out.suppression_reason = REASONS_OUT[reason]
    for name in MESSAGE_TIMESTAMPS:
        set_timestamp(getattr(out, name), getattr(m, name))
    return out


def rendered_to_proto(channel: Channel, content: dict[str, str]) -> xpb.RenderedContent:
    texts, headers = split_headers(content)
    out = xpb.RenderedContent(channel=enums.CHANNELS_OUT[channel], headers=headers)
    for name, text in texts.items():
        if name in xpb.RenderedContent.DESCRIPTOR.fields_by_name and name != "headers":
            setattr(out, name, text)
    return out
