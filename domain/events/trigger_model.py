"""Trigger evaluations: what became of one (campaign, trigger, event), so an operator can answer
"why did this user not get it?" (BR-CAM-007, docs/triggers.md).

Each evaluation is recorded once (unique per campaign, event and trigger), in the transaction
of the event's intake: with the messages it fired, or with the reason it fired none.
"""

from __future__ import annotations

import enum
import uuid
from dataclasses import dataclass
from datetime import datetime

from domain.kernel.name_ids import name_uuid

_EVALUATIONS = uuid.UUID("0b6f3e52-8d0c-5b7e-a1c4-7e2d9f1a3c58")


class Verdict(enum.StrEnum):
    """An evaluation's outcome: fired (or deferred: fired, held for a while), or why not."""

    FIRED = "fired"  # messages written, going out now or after the trigger's delay
    DEFERRED = "deferred"  # fired, but held by the recipient's quiet hours or weekend
    NO_USER = "no_user"  # the event names no user
    CONDITIONS_NOT_MET = "conditions_not_met"  # the reason names the first failing condition
    NOT_IN_AUDIENCE = "not_in_audience"
    SUPPRESSED = "suppressed"  # a member suppressed on every channel
    HOLDOUT = "holdout"
    CONTROL = "control"  # in the A/B control arm: measured, sent nothing
    UNREACHABLE = "unreachable"  # no eligible channel (consent, address, suppression)
    RENDER_FAILED = "render_failed"
    FREQUENCY_LIMIT = "frequency_limit"
    # The organization's cross-campaign marketing cap holds the user back (its messages are
    # stored SUPPRESSED with the cap as their reason).
    MARKETING_CAP = "marketing_cap"


# The outcomes that sent (or will send) messages: what the frequency limit counts.
FIRING = frozenset({Verdict.FIRED, Verdict.DEFERRED})


@dataclass(slots=True)
class TriggerEvaluation:
    """A value, but not `frozen`: every trigger-source event makes one per active triggered
    campaign of its organization (20 an event in trigger-latency), and a frozen dataclass's
    __init__ took 1.7 us of the 3.4 us each cost (docs/performance.md, "Plain, not frozen,
    per-recipient records"). Derive a changed copy with dataclasses.replace."""

    organization_id: str
    evaluation_id: str
    campaign_id: str
    trigger_id: str
    event_id: str
    event_type: str
    user_id: str
    outcome: Verdict
    reason: str
    message_ids: tuple[str, ...]
    evaluated_at: datetime


def evaluation_id(campaign_id: str, trigger_id: str, event_id: str) -> str:
    """Derived, like message ids: the same evaluation always has the same id."""
    return name_uuid(_EVALUATIONS, f"{campaign_id}\x1f{trigger_id}\x1f{event_id}")


@dataclass(frozen=True, slots=True)
class ActiveCampaign:
    """An active triggered campaign as the per-event lookup returns it: enough to tell whether
    the cached definition is still current."""

    campaign_id: str
    version: int
