"""Ports of the inbound events context."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Protocol, runtime_checkable

from domain.audience.model import Suppression
from domain.events.conversion_model import ConvertingCampaign, Credit, HoldoutMembership, Touch
from domain.events.lifecycle import PersonalData
from domain.events.model import InboundEvent
from domain.events.trigger_model import ActiveCampaign, TriggerEvaluation
from domain.execution.ports import ExecutionUnitOfWork
from domain.metrics.ports import MetricLedger


class EventLedger(Protocol):
    """The ids of the events that took effect, per organization."""

    async def record(self, event: InboundEvent, at: datetime) -> bool:
        """Record the event's id in the caller's transaction; False when it is taken already
        (committed by an earlier delivery, or by a concurrent one that commits first: the
        insert waits for it, so two replicas never both get True)."""

    async def record_many(self, events: Sequence[InboundEvent], at: datetime) -> list[bool]:
        """`record` for each event, in one statement per chunk; an id repeated within `events`
        is taken by its first occurrence."""


class SuppressionList(Protocol):
    """The organization's suppressions, written in the unit of work's transaction."""

    async def add(self, organization_id: str, entries: Sequence[Suppression], at: datetime) -> int:
        """Add the entries not present yet (created `at`); an entry present keeps its reason.
        How many were new."""


class TriggerStore(Protocol):
    """Triggered campaigns' evaluations, and what evaluating them needs (docs/triggers.md)."""

    async def active_campaigns(self, organization_id: str) -> Sequence[ActiveCampaign]:
        """The organization's ACTIVE triggered campaigns, ids and versions only, in campaign_id
        order (the order their per-user locks are taken in): read per event, so it must stay a
        small indexed query (the definitions are cached by version)."""

    async def lock_users(self, pairs: Sequence[tuple[str, str]]) -> None:
        """Serialize, until the caller's transaction ends, every evaluation of these campaigns
        for these users across replicas (the frequency count and the firings it allows are then
        one decision); the locks are taken in one order every caller shares, so two batches
        never deadlock."""

    async def firings_since(
        self, organization_id: str, pairs: Sequence[tuple[str, str]], since: datetime
    ) -> Mapping[tuple[str, str, str], Sequence[datetime]]:
        """The instants of every firing (or deferral) at or after `since` of the given
        (campaign_id, user_id) pairs, by (campaign_id, trigger_id, user_id), committed ones and
        the caller's own: the frequency counts of a whole batch of events in one read."""

    async def add(self, evaluations: Sequence[TriggerEvaluation]) -> None:
        """Record an event's evaluations in the caller's transaction, in one statement; a
        second record of the same (campaign, event, trigger) fails the transaction (it cannot
        happen once the event ledger took the id)."""

    async def list(
        self,
        organization_id: str,
        *,
        campaign_id: str = "",
        user_id: str = "",
        after: str = "",
        limit: int = 50,
    ) -> tuple[Sequence[TriggerEvaluation], str]:
        """Newest first, filtered by campaign and/or user; `after` is the previous page's token
        (domain.kernel.paging) for the same filters; returns the page and the next token."""


class ConversionStore(Protocol):
    """What conversion attribution reads and writes (domain.events.conversions,
    docs/conversions.md). Every read is a small indexed query: conversion events can be as
    frequent as orders."""

    async def converting_campaigns(
        self, organization_id: str, event_type: str, since: datetime
    ) -> Sequence[ConvertingCampaign]:
        """The organization's campaigns whose conversion event type is `event_type`, in a status
        that still attributes (ATTRIBUTING), ids and versions only, in campaign_id order;
        without the ones completed so long before `since` that none of their messages can have
        been sent after it (it may return more)."""

    async def touches(
        self,
        organization_id: str,
        user_id: str,
        campaign_ids: Sequence[str],
        since: datetime,
        until: datetime,
    ) -> Sequence[Touch]:
        """The user's messages of these campaigns that may have been sent between `since` and
        `until` (it may return more; the caller filters by sent_at), locked until the
        transaction ends, so a report applied concurrently (a bounce) comes before or after the
        conversion, never in between."""

    async def holdout_memberships(
        self,
        organization_id: str,
        user_id: str,
        campaign_ids: Sequence[str],
        since: datetime,
        until: datetime,
    ) -> Sequence[HoldoutMembership]:
        """The runs of these campaigns that held the user out between `since` and `until`."""

    async def credited_campaigns(
        self, organization_id: str, user_id: str, event_id: str
    ) -> set[str]:
        """The campaigns this event credited already (any credit recorded for it)."""

    async def add(self, credits: Sequence[Credit], at: datetime) -> None:
        """Record the credits (recorded `at`) in the caller's transaction; one already recorded
        is left as it is."""

    async def convert_holdout(
        self, organization_id: str, execution_id: str, user_id: str, at: datetime
    ) -> bool:
        """Give the membership its conversion instant (the earliest one is kept); True when it
        had none: the member's first conversion in that run, decided under the row's lock, so
        two concurrent events count the member once."""


class EventsUnitOfWork(ExecutionUnitOfWork, Protocol):
    @property
    def ledger(self) -> EventLedger: ...

    @property
    def suppressions(self) -> SuppressionList: ...

    @property
    def personal_data(self) -> PersonalData: ...

    @property
    def triggers(self) -> TriggerStore: ...

    @property
    def conversions(self) -> ConversionStore: ...

    @property
    def metrics(self) -> MetricLedger:
        """The metric counters, in this transaction (conversions add to them here)."""
        ...

    def on_commit(self, callback: Callable[[], None]) -> None:
        """Call `callback` once this transaction committed, never if it rolls back: a trigger
        hands the messages it fired to delivery at once (domain.events.trigger_handover), and
        must not hand over messages that were never stored."""

    async def __aenter__(self) -> EventsUnitOfWork: ...


class EventsUnitOfWorkFactory(Protocol):
    def __call__(self, *, read_only: bool = False) -> EventsUnitOfWork: ...


class EventHandler(Protocol):
    """One effect of inbound events (message feedback, a trigger, an erasure...).

    `handle` runs inside the intake's transaction, after the event's id was recorded: its
    writes commit together with the id, or not at all. Anything it does outside that
    transaction (a suppression, a limiter reservation) must be idempotent, because a failed
    commit means the event comes again. A handler raises domain.events.intake.RejectedEventError
    for an event it can never use; any other exception means "try again later"."""

    def accepts(self, event_type: str) -> bool: ...

    async def handle(self, uow: EventsUnitOfWork, event: InboundEvent) -> None: ...


@runtime_checkable
class BatchEventHandler(EventHandler, Protocol):
    """A handler that can take many events in one go (EventIntake.take_batch): the sandbox's
    delivery reports come by the thousand, and one statement per event was most of their cost."""

    async def handle_many(self, uow: EventsUnitOfWork, events: Sequence[InboundEvent]) -> None:
        """`handle` for each event, in order, with the same effects; RejectedEventError when
        any of them is unusable."""
