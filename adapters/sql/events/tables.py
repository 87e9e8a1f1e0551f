"""The inbound events ledger: one row per (organization, event_id) that took effect.

The primary key is the idempotency rule itself: the row is inserted in the transaction of the
event's effects, so a second delivery of the id (another door, a redelivery, a concurrent
replica) conflicts with it and changes nothing.
"""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    Float,
    Index,
    PrimaryKeyConstraint,
    Table,
    Text,
)

from adapters.sql.schema import CodePointText, Document, UtcDateTime, metadata

inbound_events = Table(
    "inbound_events",
    metadata,
    Column("organization_id", Text, nullable=False),
    Column("event_id", CodePointText, nullable=False),
    Column("event_type", Text, nullable=False),
    Column("user_id", CodePointText, nullable=False),
    Column("door", Text, nullable=False),
    Column("occurred_at", UtcDateTime(), nullable=False),
    Column("received_at", UtcDateTime(), nullable=False),
    PrimaryKeyConstraint("organization_id", "event_id"),
    Index(None, "received_at"),  # pruning by age
)


# Trigger evaluations: one row per (campaign, event, trigger) evaluated, with its outcome or skip
# reason and the ids of the messages it fired (docs/triggers.md). Every trigger-source event
# writes a row per active triggered campaign of its organization, so each index costs: the
# primary key is the listing by campaign (newest first), the other index the listing by user,
# and the partial index serves the frequency count, which looks only at firings (migration 0019
# says why no index of the evaluation id alone). An evaluation is recorded once because its event
# is taken once (the events ledger); its id, derived from (campaign, trigger, event), is in the
# key.
FIRING_OUTCOMES = ("fired", "deferred")

trigger_evaluations = Table(
    "trigger_evaluations",
    metadata,
    Column("evaluation_id", Text, nullable=False),  # derived from (campaign, trigger, event)
    Column("organization_id", Text, nullable=False),
    Column("campaign_id", CodePointText, nullable=False),
    Column("trigger_id", Text, nullable=False),
    Column("event_id", CodePointText, nullable=False),
    Column("event_type", Text, nullable=False),
    Column("user_id", CodePointText, nullable=False),
    Column("outcome", Text, nullable=False),
    Column("reason", Text, nullable=False),
    Column("message_ids", Document, nullable=False),
    Column("evaluated_at", UtcDateTime(), nullable=False),
    PrimaryKeyConstraint("organization_id", "campaign_id", "evaluated_at", "evaluation_id"),
    Index(
        "ix_trigger_evaluations_by_user",
        "organization_id",
        "user_id",
        "evaluated_at",
        "evaluation_id",
    ),
)

Index(
    "ix_trigger_evaluations_fired",
    trigger_evaluations.c.campaign_id,
    trigger_evaluations.c.user_id,
    trigger_evaluations.c.trigger_id,
    trigger_evaluations.c.evaluated_at,
    postgresql_where=trigger_evaluations.c.outcome.in_(FIRING_OUTCOMES),
    sqlite_where=trigger_evaluations.c.outcome.in_(FIRING_OUTCOMES),
)


# Conversions (docs/conversions.md): one row per message an event credited, or per holdout
# membership it counted (`message_id` "" and `holdout` true). The primary key is the idempotency
# rule: (organization, user, event, campaign, message), so an event credited once (even if its
# ledger row was pruned since) finds its credits taken and changes nothing; its prefix finds an
# event's credits. `value_share` is the event's value split by the campaign's attribution model.
conversions = Table(
    "conversions",
    metadata,
    Column("organization_id", Text, nullable=False),
    Column("user_id", CodePointText, nullable=False),
    Column("event_id", CodePointText, nullable=False),
    Column("campaign_id", CodePointText, nullable=False),
    Column("message_id", Text, nullable=False),  # "" for a holdout member's conversion
    Column("execution_id", Text, nullable=False),
    Column("variant_id", Text, nullable=False),
    Column("channel", Text, nullable=False),
    Column("holdout", Boolean, nullable=False),
    Column("value_share", Float, nullable=False),
    Column("converted_at", UtcDateTime(), nullable=False),  # the event's instant
    Column("recorded_at", UtcDateTime(), nullable=False),
    PrimaryKeyConstraint("organization_id", "user_id", "event_id", "campaign_id", "message_id"),
    Index(None, "organization_id", "campaign_id", "converted_at"),
)
