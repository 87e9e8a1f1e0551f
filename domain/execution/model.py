"""Executions (one run of a campaign) and the messages they produce.

A message's id is derived from (execution, user, channel), so a retried chunk can never mint a
second message for the same recipient: the database key and JetStream's Nats-Msg-Id both see the
same id again.
"""

from __future__ import annotations

import dataclasses
import enum
import functools
import hashlib
import operator
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from domain.kernel.channels import Channel
from domain.kernel.name_ids import name_uuid


class ExecutionStatus(enum.StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    PAUSED = "paused"
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    FAILED = "failed"


class MessageStatus(enum.StrEnum):
    QUEUED = "queued"
    DEFERRED = "deferred"
    SENT = "sent"
    DELIVERED = "delivered"
    OPENED = "opened"
    CLICKED = "clicked"
    CONVERTED = "converted"
    BOUNCED = "bounced"
    FAILED = "failed"
    UNSUBSCRIBED = "unsubscribed"
    SUPPRESSED = "suppressed"
    CANCELLED = "cancelled"  # never sent: the run was cancelled first (final, `error` says why)


FINISHED_EXECUTIONS = frozenset(
    {ExecutionStatus.COMPLETED, ExecutionStatus.CANCELLED, ExecutionStatus.FAILED}
)


MESSAGE_NAMESPACE = uuid.UUID("6f1c2a9e-4b1d-5c3e-9a57-1d2c3b4a5e6f")
# The execution_id a SendTransactional message is stored under. Such a message belongs to no
# execution; the stored value only groups them in the store's (execution_id, ...) indexes, and
# clients and the delivery payload see "" (`reported_execution_id`), as the contract says.
TRANSACTIONAL_EXECUTION = "transactional"
# The execution_id a triggered campaign's messages are stored under (domain.events.triggers):
# a firing belongs to no run either. It groups them in the same indexes (the release of held
# trigger messages walks ix_messages_held by it) and is reported as "" like a transactional one.
TRIGGERED_EXECUTION = "triggered"
# Messages that belong to no execution: reported under "".
_NO_EXECUTION = frozenset({TRANSACTIONAL_EXECUTION, TRIGGERED_EXECUTION})


def content_digest(content: dict[str, str]) -> str:
    """The rendered content's fingerprint shown by GetMessage: equal content, equal digest."""
    return hashlib.sha256(repr(sorted(content.items())).encode()).hexdigest()[:16]


def message_id(execution_id: str, user_id: str, channel: Channel) -> str:
    """Stable, unique per (execution, user, channel): a name-based UUID (RFC 4122 version 5)."""
    return name_uuid(MESSAGE_NAMESPACE, f"{execution_id}\x1f{user_id}\x1f{channel.value}")


def fallback_message_id(original_message_id: str, channel: Channel) -> str:
    """The id of the one fallback of a message on a channel: a redelivered report, or a second
    report of the same failure, finds it taken instead of minting another."""
    return name_uuid(MESSAGE_NAMESPACE, f"fallback\x1f{original_message_id}\x1f{channel.value}")


@dataclass(slots=True)
class ExecutionCounts:
    audience: int = 0
    holdout: int = 0
    control: int = 0
    suppressed: int = 0
    unreachable: int = 0
    queued: int = 0
    failed: int = 0  # messages that failed before queueing: their content did not render


@dataclass(slots=True)
class Execution:
    execution_id: str
    campaign_id: str
    organization_id: str
    status: ExecutionStatus
    trigger: str  # "schedule", "cron", "manual", "event:<type>"
    due_at: datetime
    created_at: datetime
    missed_firing: bool = False
    cursor: str = ""  # last user_id fully processed: the resume point
    fanned_out: bool = False  # every recipient planned; completion waits for delivery
    counts: ExecutionCounts = field(default_factory=ExecutionCounts)
    started_at: datetime | None = None
    completed_at: datetime | None = None
    failure_reason: str = ""
    # Retries (domain.execution.retries): consecutive failed attempts, the latest one's reason,
    # and when the run is next offered to an executor (None: at its due_at). Written by
    # ExecutionRepository.release only.
    attempts: int = 0
    last_error: str = ""
    next_attempt_at: datetime | None = None


@dataclass(slots=True)
class Message:
    """One message of an execution, as stored in the outbox.

    A value, but not `frozen`: an execution builds one per recipient, and a frozen dataclass's
    __init__ costs too much at that rate (docs/performance.md). The same holds for Contact,
    Recipient and Draft. Derive a changed copy with dataclasses.replace; never assign to a field.
    """

    message_id: str
    execution_id: str
    campaign_id: str
    organization_id: str
    user_id: str
    variant_id: str
    channel: Channel
    recipient: str
    content: dict[str, str]
    send_after: datetime
    queued_at: datetime
    status: MessageStatus = MessageStatus.QUEUED
    content_digest: str = ""
    sent_at: datetime | None = None
    delivered_at: datetime | None = None
    failed_at: datetime | None = None
    error: str = ""
    # Delivery feedback (domain.execution.feedback): the first instant of each later status.
    opened_at: datetime | None = None
    clicked_at: datetime | None = None
    converted_at: datetime | None = None
    bounced_at: datetime | None = None
    unsubscribed_at: datetime | None = None
    bounce_type: str = ""  # "hard" or "soft" once bounced
    provider_message_id: str = ""
    # DEFERRED without a throttle slot yet (quiet hours, weekends, slots missed during a pause):
    # the executor reserves its slot when send_after comes (domain.execution.slots), so a held
    # message spends none of the rate while it waits.
    held: bool = False
    # The recipient's time zone when the message was planned: quiet hours and weekends are
    # checked in it again when a held message gets its slot.
    timezone: str = ""
    # The message this one stands in for, on the next channel, after it failed or hard-bounced
    # (domain.events.fallback); "" for every other message.
    fallback_of: str = ""
    # The campaign's include audience the recipient matched, the key of the metrics' segment
    # breakdown (domain.metrics.deltas.segment_of); filled by the store when it writes the
    # message, "" when the campaign has no include audience.
    segment_id: str = ""
    # The trace of the work that wrote the message, when it was written alone (a transactional
    # send): opaque here, sent on with the delivery request (docs/observability-traces.md).
    trace_context: str | None = None


_MESSAGE_FIELDS = tuple(f.name for f in dataclasses.fields(Message))
_message_values = operator.attrgetter(*_MESSAGE_FIELDS)
_CONTENT_AT = _MESSAGE_FIELDS.index("content")


def with_content(message: Message, content: dict[str, str]) -> Message:
    """`dataclasses.replace(message, content=content)` at a quarter of its cost: the hand-over
    makes one such copy of every message of a run (domain.execution.tracked_content), and
    replace's generic field-by-field keyword handling was a tenth of a run's CPU."""
    values = list(_message_values(message))
    values[_CONTENT_AT] = content
    return Message(*values)


@dataclass(frozen=True, slots=True)
class Held:
    """A held message as its release needs it: no content. After the release `send_after` is
    its slot (`held` False), or the end of the window that slot fell into (`held` True)."""

    message_id: str
    channel: Channel
    timezone: str
    send_after: datetime
    held: bool = True
    # Whose message it is: what a release across campaigns (held trigger messages) groups by.
    organization_id: str = ""
    campaign_id: str = ""


def reported_execution_id(message: Message) -> str:
    """The execution a message is reported under: "" for a transactional send or a trigger's."""
    return "" if message.execution_id in _NO_EXECUTION else message.execution_id


MessageIds = Callable[[str, Channel], str]  # (user_id, channel) -> message id, for one execution
MessageIdFactory = Callable[[str], MessageIds]  # execution_id -> its MessageIds


def derived_message_ids(execution_id: str) -> MessageIds:
    """message_id for one execution; the rule every faster implementation must agree with."""
    return functools.partial(message_id, execution_id)
