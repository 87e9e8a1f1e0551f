"""What a change of the message table adds to the counters (domain.metrics.model), worked out
from the change alone, so every writer adds its deltas in the transaction that makes the change
and the counters stay equal to a recount of the messages.

A counter counts messages that ever reached a state: a written message adds `queued` 1 plus 1 for
each state it was written in (a message that failed to render is written failed); a change adds 1
to each state whose timestamp went from unset to set. A timestamp never goes back to unset, so a
change never subtracts. Holdout recipients get no message: they add to `holdout` of their
execution's cell with no variant and no channel.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from operator import attrgetter
from typing import Any

from domain.audience.model import Audience, SegmentType
from domain.execution.feedback import (
    FINAL_BEFORE_HAND_OVER,
    STAMPED,
    Progress,
    Report,
    progress_of,
)
from domain.execution.model import Message, MessageStatus
from domain.metrics.model import Cell, MetricTotals

# The counter each stamped state adds to: the MetricTotals field of the same name.
_COUNTED = {s: s.value for s in STAMPED}
_stamps = attrgetter(*(f"{s.value}_at" for s in STAMPED))
_UNSTAMPED = (None,) * len(STAMPED)


def segment_of(audiences: Sequence[Audience]) -> str:
    """The segment key of a campaign's messages: its first include audience's id ("" when it has
    none). A recipient is a member of every include audience (domain.audience.ports), so the
    first one is the include audience each recipient matched, in the campaign's order."""
    return next((a.audience_id for a in audiences if a.segment_type is SegmentType.INCLUDE), "")


def cell_of(message: Message) -> Cell:
    return Cell(
        organization_id=message.organization_id,
        campaign_id=message.campaign_id,
        execution_id=message.execution_id,
        variant_id=message.variant_id,
        channel=message.channel.value,
        segment_id=message.segment_id,
    )


def progressed(before: Progress, after: Progress) -> MetricTotals:
    """1 for each state `after` reached that `before` had not."""
    totals = MetricTotals()
    for status, name in _COUNTED.items():
        if before.at(status) is None and after.at(status) is not None:
            setattr(totals, name, 1)
    return totals


def written(message: Message) -> MetricTotals:
    """A message as written: queued, plus every state it was written in."""
    totals = progressed(Progress(), progress_of(message))
    totals.queued = 1
    return totals


def hits(before: Progress, report: Report) -> MetricTotals:
    """What a report counts whether or not it moved the message: every open and click hit, of
    a message that was handed over (a stray report of a suppressed one counts nothing)."""
    if before.status in FINAL_BEFORE_HAND_OVER:
        return MetricTotals()
    return MetricTotals(
        opens_total=1 if report.status is MessageStatus.OPENED else 0,
        clicks_total=1 if report.status is MessageStatus.CLICKED else 0,
    )


def _cell(key: tuple[Any, ...]) -> Cell:
    organization_id, campaign_id, execution_id, variant_id, channel, segment_id = key
    return Cell(organization_id, campaign_id, execution_id, variant_id, channel.value, segment_id)


class Deltas:
    """Deltas per cell, summed: what a transaction adds to the ledger when it commits."""

    def __init__(self) -> None:
        self._cells: dict[Cell, MetricTotals] = {}

    def add(self, cell: Cell, totals: MetricTotals) -> None:
        if totals.is_zero:
            return
        known = self._cells.get(cell)
        if known is None:
            self._cells[cell] = MetricTotals()
            known = self._cells[cell]
        known.add(totals)

    def add_written(
        self, messages: Iterable[Message], segments: Mapping[str, str] | None = None
    ) -> None:
        """Messages written; a message without a segment_id takes its campaign's from
        `segments`. A run writes thousands per batch, almost all with no state stamped yet:
        those are only counted per cell here, `written` runs for the others."""
        by_campaign = segments or {}
        queued: dict[tuple[Any, ...], int] = {}
        for m in messages:
            key = (
                m.organization_id,
                m.campaign_id,
                m.execution_id,
                m.variant_id,
                m.channel,  # its value below, once per cell rather than per message
                m.segment_id or by_campaign.get(m.campaign_id, ""),
            )
            if _stamps(m) == _UNSTAMPED:
                queued[key] = queued.get(key, 0) + 1
            else:
                self.add(_cell(key), written(m))
        for cell_key, count in queued.items():
            self.add(_cell(cell_key), MetricTotals(queued=count))

    def add_count(self, cell: Cell, status: MessageStatus, count: int) -> None:
        """`count` messages of `cell` reached `status` (a mark of many rows at once)."""
        if count:
            self.add(cell, MetricTotals(**{_COUNTED[status]: count}))

    def add_holdout(
        self, organization_id: str, campaign_id: str, execution_id: str, n: int
    ) -> None:
        if n:
            cell = Cell(organization_id, campaign_id, execution_id, variant_id="", channel="")
            self.add(cell, MetricTotals(holdout=n))

    def campaigns(self) -> set[tuple[str, str]]:
        """The (organization_id, campaign_id) whose counters these deltas change."""
        return {(c.organization_id, c.campaign_id) for c in self._cells}

    def take(self) -> dict[Cell, MetricTotals]:
        """The deltas so far, and none left."""
        cells, self._cells = self._cells, {}
        return cells

    def __bool__(self) -> bool:
        return bool(self._cells)
