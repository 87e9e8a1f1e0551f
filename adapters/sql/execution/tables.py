"""Executions and their messages. The messages table is the delivery outbox: a message row is
written (queued) before it is published, and marked sent only after the broker acknowledged it.

A batch the executor hands over itself is marked as a whole, in one small `handovers` row,
instead of row by row (see adapters/sql/messages.py).
"""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    PrimaryKeyConstraint,
    Table,
    Text,
    UniqueConstraint,
)

from adapters.sql.campaigns.tables import campaigns
from adapters.sql.schema import CodePointText, Document, UtcDateTime, metadata

executions = Table(
    "executions",
    metadata,
    Column("execution_id", Text, primary_key=True),
    Column("organization_id", Text, nullable=False),
    Column(
        "campaign_id",
        CodePointText,
        ForeignKey(campaigns.c.campaign_id, ondelete="CASCADE"),
        nullable=False,
    ),
    Column("status", Text, nullable=False),
    Column("trigger", Text, nullable=False),
    Column("due_at", UtcDateTime(), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("started_at", UtcDateTime()),
    Column("completed_at", UtcDateTime()),
    Column("missed_firing", Boolean, nullable=False),
    Column("cursor", CodePointText, nullable=False),  # last user_id done: the resume point
    Column("fanned_out", Boolean, nullable=False),
    Column("counts", Document, nullable=False),
    Column("failure_reason", Text, nullable=False),
    Column("lease_owner", Text),
    Column("lease_expires_at", UtcDateTime()),
    # Retries (domain.execution.retries): consecutive failed attempts, the latest reason, and
    # when the run is next offered to an executor, which is also its place in the queue.
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("last_error", Text, nullable=False, server_default=""),
    Column("next_attempt_at", UtcDateTime(), nullable=False),
    # One execution per firing: two schedulers ticking together cannot start it twice.
    UniqueConstraint("campaign_id", "due_at"),
    Index(None, "status", "lease_expires_at"),
    Index(None, "status", "next_attempt_at"),
    Index(None, "organization_id", "lease_owner"),
    Index(None, "organization_id", "campaign_id", "created_at"),
)

messages = Table(
    "messages",
    metadata,
    Column("message_id", Text, primary_key=True),  # derived from (execution, user, channel)
    Column("organization_id", Text, nullable=False),
    Column("campaign_id", Text, nullable=False),
    Column("execution_id", Text, nullable=False),
    Column("user_id", CodePointText, nullable=False),
    Column("variant_id", Text, nullable=False),
    Column("channel", Text, nullable=False),
    Column("recipient", Text, nullable=False),
    Column("content", Document, nullable=False),
    Column("content_digest", Text, nullable=False),
    Column("status", Text, nullable=False),
    Column("send_after", UtcDateTime(), nullable=False),
    Column("queued_at", UtcDateTime(), nullable=False),
    Column("sent_at", UtcDateTime()),
    Column("delivered_at", UtcDateTime()),
    Column("failed_at", UtcDateTime()),
    Column("error", Text, nullable=False),
    Column("idempotency_key", Text),  # SendTransactional only
    Column("handover_id", Text),  # status `dispatching` only: the batch it was claimed in
    # The recipient's zone when planned: a held message's slot is checked against it on release.
    Column("timezone", Text, nullable=False, server_default=""),
    # Delivery feedback (domain.execution.feedback): the first instant of each later status.
    Column("opened_at", UtcDateTime()),
    Column("clicked_at", UtcDateTime()),
    Column("converted_at", UtcDateTime()),
    Column("bounced_at", UtcDateTime()),
    Column("unsubscribed_at", UtcDateTime()),
    Column("bounce_type", Text, nullable=False, server_default=""),
    Column("provider_message_id", Text, nullable=False, server_default=""),
    # The message this one stands in for after it failed or hard-bounced (channel fallback on
    # outcome); null for every other message.
    Column("fallback_of", Text),
    # The campaign's include audience the recipient matched: the metrics' segment breakdown key
    # (domain.metrics.deltas.segment_of); "" when the campaign has none.
    Column("segment_id", Text, nullable=False, server_default=""),
    # The traceparent of the work that wrote a message alone (a transactional send, a fallback),
    # sent with its delivery request; null for a run's messages (docs/observability-traces.md).
    Column("trace_context", Text),
    UniqueConstraint("organization_id", "campaign_id", "idempotency_key"),
    Index(None, "execution_id", "user_id"),
    Index(None, "organization_id", "campaign_id", "queued_at"),
)

# Partial: the delivery relay only looks for queued and deferred rows that are due (a deferred
# row holds a throttle slot; a held one does not have one yet and waits for the executor).
RELAYED = ("queued", "deferred")
Index(
    "ix_messages_due",
    messages.c.send_after,
    postgresql_where=messages.c.status.in_(RELAYED),
    sqlite_where=messages.c.status.in_(RELAYED),
)
# Partial: a run's held messages whose window has ended, for the executor that releases them.
Index(
    "ix_messages_held",
    messages.c.execution_id,
    messages.c.send_after,
    postgresql_where=messages.c.status == "held",
    sqlite_where=messages.c.status == "held",
)

# One batch of messages claimed by the executor that wrote them, and handed over (or not yet)
# as a whole. Marking a million messages sent is a thousand one-row updates here, where it was a
# million wide-row updates in messages. The batch's user range lets a release find its rows
# through the (execution_id, user_id) index.
handovers = Table(
    "handovers",
    metadata,
    Column("handover_id", Text, primary_key=True),  # the batch's first message id
    Column("execution_id", Text, nullable=False),
    Column("status", Text, nullable=False),  # claimed, then sent (or delivered by the sandbox)
    Column("first_user_id", CodePointText, nullable=False),
    Column("last_user_id", CodePointText, nullable=False),
    Column("size", Integer, nullable=False),
    Column("handed_over_at", UtcDateTime()),
    Index(None, "execution_id", "status"),
)

# The recipients a run held out (no message), one row per (execution, user), written with the
# batch that held them out (docs/conversions.md). `converted_at` is the member's first conversion
# inside the campaign's attribution window, as a message keeps its own: the holdout baseline of
# lift counts the members that have one. The primary key makes a batch written again after a
# restart change nothing and serves the conversion lookup, (execution_id, user_id), as the
# messages' index does.
holdout_members = Table(
    "holdout_members",
    metadata,
    Column("execution_id", Text, nullable=False),
    Column("user_id", CodePointText, nullable=False),
    Column("organization_id", Text, nullable=False),
    Column("campaign_id", Text, nullable=False),
    Column("held_out_at", UtcDateTime(), nullable=False),
    Column("converted_at", UtcDateTime()),
    PrimaryKeyConstraint("execution_id", "user_id"),
)

# The latest arrival time of every rate limit (domain.execution.reseeding): what re-seeds the
# limiter (Redis or in-process) after it lost its state.
rate_limit_arrivals = Table(
    "rate_limit_arrivals",
    metadata,
    Column("limit_key", CodePointText, primary_key=True),
    Column("arrival", UtcDateTime(), nullable=False),
)
