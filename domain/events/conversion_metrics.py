"""What an event's conversion credits add to the campaign's counters (domain.metrics): pure, so
the handler's one call of the ledger adds exactly this.

- `conversion_value`: each credited message's share of the event's value, in that message's
  cell (its execution, variant and channel). A message converted by an earlier event still adds
  the new event's value: the value sums conversions, while `converted` counts messages.
- `converted` is not added here: it follows the message's move to CONVERTED (the ledger counts
  every state a message newly reaches where message feedback is applied).
- `holdout_converted`: 1 per holdout member's first conversion in a run, in the run's holdout
  cell (variant "" and channel ""): members that converted, as `converted` counts messages, so
  their rate against `holdout` is the baseline of lift. A holdout member's value is kept in the
  conversions ledger, not in `conversion_value`, which is the treated arms' value.

A credited message's value counts in its own segment (the one its message counts in); a
holdout member's cell has none.
"""

from __future__ import annotations

from collections.abc import Sequence

from domain.events.conversion_model import Credit
from domain.metrics.model import Cell, MetricTotals


def conversion_deltas(credits: Sequence[Credit]) -> dict[Cell, MetricTotals]:
    deltas: dict[Cell, MetricTotals] = {}
    for credit in credits:
        if credit.holdout:
            if not credit.first_for_member:
                continue
            cell = Cell(credit.organization_id, credit.campaign_id, credit.execution_id, "", "")
            deltas.setdefault(cell, MetricTotals()).holdout_converted += 1
            continue
        if not credit.value_share:
            continue
        cell = Cell(
            credit.organization_id,
            credit.campaign_id,
            credit.execution_id,
            credit.variant_id,
            credit.channel,
            credit.segment_id,
        )
        deltas.setdefault(cell, MetricTotals()).conversion_value += credit.value_share
    return deltas
