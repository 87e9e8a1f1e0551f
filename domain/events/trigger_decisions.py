"""The pure part of a trigger's evaluation (docs/triggers.md, "Evaluation order"): which triggers
an event matches, whether their conditions hold, and what the campaign's plan makes of the user
(holdout, control arm, eligible channels, rendered content). The handler adds the I/O: the
audience, the frequency count under its lock, the throttle and the writes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from domain.audience.conditions import matches
from domain.audience.model import Condition, ConditionOperator, Recipient
from domain.campaigns.campaign import Campaign
from domain.campaigns.model import CampaignStatus, CampaignType, Trigger
from domain.events.model import (
    NOTIFICATION_PREFIX,
    TASK_EXECUTED,
    USER_DELETED,
    USER_PREFERENCES_UPDATED,
)
from domain.events.trigger_model import Verdict
from domain.execution.planning import CampaignPlan, Draft, plan_batch
from domain.kernel.channels import Channel

# Event types with handlers of their own (feedback, lifecycle, tasks): never trigger sources.
NOT_TRIGGER_SOURCES = frozenset({USER_DELETED, USER_PREFERENCES_UPDATED, TASK_EXECUTED})
EVERY_CHANNEL = frozenset(Channel)


def is_trigger_source(event_type: str) -> bool:
    """Every event type but the ones other handlers own (user.created, subscription.*,
    order.completed, event.* and any other type are ordinary trigger sources)."""
    return event_type not in NOT_TRIGGER_SOURCES and not event_type.startswith(NOTIFICATION_PREFIX)


def fires_on(campaign: Campaign, event_type: str) -> tuple[Trigger, ...]:
    """The campaign's triggers for `event_type`, in their configured order; none unless the
    campaign is an ACTIVE triggered one."""
    if (
        campaign.status is not CampaignStatus.ACTIVE
        or campaign.spec.campaign_type is not CampaignType.TRIGGERED
    ):
        return ()
    return tuple(t for t in campaign.spec.triggers if t.event_type == event_type)


def failing_condition(
    conditions: Sequence[Condition], properties: Mapping[str, Any]
) -> tuple[int, Condition] | None:
    """The first condition (index, condition) the event's properties do not meet; None when
    all hold (AND; none at all always holds). Dot paths reach into nested objects."""
    for index, condition in enumerate(conditions):
        # Inline, the commonest test (text equals text, the key at the top level): it runs
        # for every active triggered campaign on every event; matches() decides the rest.
        actual = properties.get(condition.field)
        if (
            type(actual) is str
            and condition.operator is ConditionOperator.EQUALS
            and type(condition.value) is str
        ):
            if actual != condition.value:
                return index, condition
        elif not matches(condition, properties):
            return index, condition
    return None


def describe_condition(index: int, condition: Condition) -> str:
    """The skip reason naming a failing condition: which one, and what it asked."""
    value = condition.value
    if value is None:
        shown = ""
    elif isinstance(value, tuple):
        shown = " [" + ", ".join(_shown(v) for v in value) + "]"
    else:
        shown = " " + _shown(value)
    return f"conditions[{index}]: {condition.field} {condition.operator.value}{shown}"


def _shown(value: object) -> str:
    """A condition's value as a person wrote it: 50, not 50.0 (stored numbers are floats)."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return (
        repr(value)
        if isinstance(value, str)
        else str(value).lower()
        if isinstance(value, bool)
        else str(value)
    )


@dataclass(frozen=True, slots=True)
class Planned:
    """What the campaign's plan makes of one member: the drafts to send, or why nothing."""

    verdict: Verdict | None  # None: may fire with `drafts`
    reason: str = ""
    drafts: Sequence[Draft] = field(default_factory=tuple)


def plan_member(plan: CampaignPlan, recipient: Recipient) -> Planned:
    """Suppression, holdout and variant (the run's hash, domain.execution.assignment), channel
    eligibility and rendering, exactly as a run plans its recipients (plan_batch)."""
    if recipient.suppressed_channels >= EVERY_CHANNEL:
        return Planned(Verdict.SUPPRESSED, "suppressed on every channel")
    batch = plan_batch(plan, [recipient])
    counts = batch.counts
    if counts.holdout:
        return Planned(Verdict.HOLDOUT, "in the campaign's holdout group")
    if counts.control:
        return Planned(Verdict.CONTROL, "in the control arm: measured, sent nothing")
    if counts.unreachable:
        return Planned(Verdict.UNREACHABLE, "no eligible channel (consent, address, suppression)")
    rendered = [d for d in batch.drafts if not d.error]
    if not rendered:
        return Planned(Verdict.RENDER_FAILED, batch.drafts[0].error)
    return Planned(None, drafts=rendered)
