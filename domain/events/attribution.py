"""Conversion attribution (BR-CAM-005.3, docs/conversions.md): which of a campaign's messages an
event of its conversion type credits, and each one's share of the event's value. Pure: the
handler (domain.events.conversions) reads the touches and writes the credits.

- The window: a message counts when it was sent (handed over) at most the campaign's
  attribution window (1-30 days, default 7) before the event, and not after it; both ends
  included. The event's instant is its own `occurred_at` (a late delivery attributes by when it
  happened), never later than now.
- A message that failed, bounced or was unsubscribed from is never credited, nor one never sent
  (queued, deferred, suppressed, cancelled); the model chooses among the others.
- Models: LAST_TOUCH credits the latest message before the event, FIRST_TOUCH the earliest in
  the window, LINEAR every one, the value split equally. Ties in time go by message id, so
  every replica credits the same message.
- Holdout: when no message of the campaign is credited, the runs that held the user out inside
  the window are credited instead, by the same model (their instant is when the run wrote the
  batch that would have messaged them): the holdout's conversions, the baseline of lift.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, TypeVar

from domain.campaigns.model import AttributionModel, Conversion
from domain.events.conversion_model import Credit, HoldoutMembership, Touch
from domain.events.model import InboundEvent
from domain.execution.model import MessageStatus

VALUE_PROPERTY = "value"
# A message in one of these statuses never gets a conversion (and never moves to CONVERTED).
NOT_CREDITED = frozenset({MessageStatus.FAILED, MessageStatus.BOUNCED, MessageStatus.UNSUBSCRIBED})

T = TypeVar("T")


def event_value(properties: Mapping[str, Any]) -> float:
    """The conversion's value: the `value` property, a JSON number or a number as text
    ("59.90"). Missing, not a number, not finite or negative: 0 (a conversion never subtracts)."""
    raw = properties.get(VALUE_PROPERTY)
    if isinstance(raw, bool):
        return 0.0
    if isinstance(raw, int | float):
        value = float(raw)
    elif isinstance(raw, str):
        try:
            value = float(raw.strip())
        except ValueError:
            return 0.0
    else:
        return 0.0
    return value if math.isfinite(value) and value > 0 else 0.0


def conversion_instant(event: InboundEvent, now: datetime) -> datetime:
    """When the conversion happened: the event's own instant (a late event attributes by it),
    or now when its clock ran ahead of ours."""
    return min(event.occurred_at, now)


def window_start(conversion: Conversion, at: datetime) -> datetime:
    return at - timedelta(days=conversion.attribution_window_days)


def credited_touches(conversion: Conversion, touches: Sequence[Touch], at: datetime) -> list[Touch]:
    """The messages the model credits, earliest first."""
    start = window_start(conversion, at)
    eligible = [
        t
        for t in touches
        if t.sent_at is not None and t.status not in NOT_CREDITED and start <= t.sent_at <= at
    ]
    return _pick(conversion.attribution_model, eligible, lambda t: (t.sent_at, t.message_id))


def credited_holdouts(
    conversion: Conversion, memberships: Sequence[HoldoutMembership], at: datetime
) -> list[HoldoutMembership]:
    """The holdout memberships the model credits, earliest first."""
    start = window_start(conversion, at)
    eligible = [m for m in memberships if start <= m.held_out_at <= at]
    return _pick(conversion.attribution_model, eligible, lambda m: (m.held_out_at, m.execution_id))


def split(value: float, parts: int) -> list[float]:
    """`value` in `parts` equal shares."""
    return [value / parts] * parts if parts else []


def campaign_credits(
    event: InboundEvent,
    campaign_id: str,
    conversion: Conversion,
    *,
    touches: Sequence[Touch],
    memberships: Sequence[HoldoutMembership],
    at: datetime,
) -> list[Credit]:
    """The event's credits for one campaign: its messages the model credits, or else the
    holdout memberships it credits; none outside the window."""
    value = event_value(event.properties)
    credit = _credit_factory(event, campaign_id, at)
    mine = [t for t in touches if t.campaign_id == campaign_id]
    chosen = credited_touches(conversion, mine, at)
    if chosen:
        return [
            credit(
                t.execution_id,
                share,
                message_id=t.message_id,
                variant_id=t.variant_id,
                channel=t.channel,
                segment_id=t.segment_id,
            )
            for t, share in zip(chosen, split(value, len(chosen)), strict=True)
        ]
    held = credited_holdouts(
        conversion, [m for m in memberships if m.campaign_id == campaign_id], at
    )
    return [
        credit(m.execution_id, share, holdout=True)
        for m, share in zip(held, split(value, len(held)), strict=True)
    ]


def _credit_factory(event: InboundEvent, campaign_id: str, at: datetime) -> Callable[..., Credit]:
    def make(execution_id: str, share: float, **rest: Any) -> Credit:
        return Credit(
            organization_id=event.organization_id,
            user_id=event.user_id,
            event_id=event.event_id,
            campaign_id=campaign_id,
            execution_id=execution_id,
            value_share=share,
            converted_at=at,
            **rest,
        )

    return make


def _pick(model: AttributionModel, items: list[T], order: Callable[[T], Any]) -> list[T]:
    items = sorted(items, key=order)
    if not items:
        return []
    if model is AttributionModel.FIRST_TOUCH:
        return items[:1]
    if model is AttributionModel.LINEAR:
        return items
    return items[-1:]  # LAST_TOUCH
