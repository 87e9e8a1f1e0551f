"""Total opens and clicks: every hit counts, repeats included (MetricTotals.opens_total and
clicks_total), while the message's own state moves once (`opened` and `clicked` count messages,
domain.execution.feedback).

Each `notification.opened` / `notification.clicked` the intake takes is one hit, whichever door
it came through (a tracking link of ours gives every hit its own event id; a provider's report
has its own), and a duplicate of an event id is no new hit (the intake never runs handlers for
it). The deltas are written in the event's transaction, through `HitTotals`: the metric
ledger's place (domain.metrics.ports.MetricLedger), see `HitTotalsHandler.handle`.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Protocol

from domain.events.intake import RejectedEventError
from domain.events.model import NOTIFICATION_PREFIX, InboundEvent
from domain.events.ports import EventsUnitOfWork
from domain.execution.model import Message
from domain.metrics.model import Cell, MetricTotals

OPENED = NOTIFICATION_PREFIX + "opened"
CLICKED = NOTIFICATION_PREFIX + "clicked"


class HitTotals(Protocol):
    """Where the per-hit deltas go, in the event's transaction."""

    async def add(
        self, uow: EventsUnitOfWork, deltas: Mapping[Cell, MetricTotals], at: datetime
    ) -> None: ...


class UncountedHitTotals:
    """Until the metric ledger is wired in: the deltas are made and dropped."""

    async def add(
        self, uow: EventsUnitOfWork, deltas: Mapping[Cell, MetricTotals], at: datetime
    ) -> None:
        return None


def cell_of(message: Message) -> Cell:
    """The counter cell a message counts in (its segment is not stored with it yet: "")."""
    return Cell(
        organization_id=message.organization_id,
        campaign_id=message.campaign_id,
        execution_id=message.execution_id,
        variant_id=message.variant_id,
        channel=message.channel.value,
    )


def hit_deltas(message: Message, event_type: str) -> dict[Cell, MetricTotals]:
    """One hit of `event_type` on `message`: +1 total open or +1 total click in its cell."""
    if event_type == OPENED:
        return {cell_of(message): MetricTotals(opens_total=1)}
    if event_type == CLICKED:
        return {cell_of(message): MetricTotals(clicks_total=1)}
    return {}


class HitTotalsHandler:
    """The EventHandler counting hits; runs after the FeedbackHandler, in the same transaction."""

    def __init__(self, totals: HitTotals) -> None:
        self._totals = totals

    def accepts(self, event_type: str) -> bool:
        return event_type in (OPENED, CLICKED)

    async def handle(self, uow: EventsUnitOfWork, event: InboundEvent) -> None:
        message_id = event.properties.get("message_id")
        message = (
            await uow.messages.get(event.organization_id, message_id)
            if isinstance(message_id, str) and message_id
            else None
        )
        if message is None:  # the FeedbackHandler rejects it first; never count a stranger's
            raise RejectedEventError(f"no message {message_id}")
        # THE call site of the hit totals: the metric ledger takes these deltas at merge.
        await self._totals.add(uow, hit_deltas(message, event.event_type), event.occurred_at)
