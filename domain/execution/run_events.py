"""What a run tells subscribers: `campaign.started` and the outcome `campaign.completed` reports.

The execution context knows the audience and counts the messages; the campaign records the
completed event itself when it finishes the run (Campaign.finish_execution), so only the
numbers are worked out here.
"""

from __future__ import annotations

from collections.abc import Mapping

from domain.campaigns.campaign import RunOutcome
from domain.execution.model import Execution, ExecutionStatus, MessageStatus
from domain.kernel import events as ev

HANDED_OVER_NOT = frozenset(
    {
        MessageStatus.QUEUED,
        MessageStatus.DEFERRED,
        MessageStatus.FAILED,
        MessageStatus.CANCELLED,
        MessageStatus.SUPPRESSED,
    }
)
DELIVERED = frozenset(
    {
        MessageStatus.DELIVERED,
        MessageStatus.OPENED,
        MessageStatus.CLICKED,
        MessageStatus.CONVERTED,
    }
)


def started(execution: Execution, audience_size: int, holdout_percentage: float) -> ev.PendingEvent:
    """The first start of a run, with the audience after suppression and the holdout it should
    get (expected: members are hashed into it as the run goes)."""
    return ev.PendingEvent(
        ev.CAMPAIGN_STARTED,
        execution.organization_id,
        {
            "campaign_id": execution.campaign_id,
            "execution_id": execution.execution_id,
            "audience_size": audience_size,
            "holdout_size": round(audience_size * (holdout_percentage / 100)),
            "missed_firing": execution.missed_firing,
            "trigger": execution.trigger,
        },
    )


def outcome(
    execution: Execution,
    status: ExecutionStatus,
    totals: dict[MessageStatus, int],
    reason: str = "",
) -> RunOutcome:
    """A failed one-time run completes its campaign too; `execution_status` says so."""
    return RunOutcome(
        execution_id=execution.execution_id,
        total_sent=handed_over(totals),
        total_delivered=sum(n for s, n in totals.items() if s in DELIVERED),
        holdout=execution.counts.holdout,
        audience_size=execution.counts.audience,
        execution_status=status.value,
        failure_reason=reason,
    )


def handed_over(totals: Mapping[MessageStatus, int]) -> int:
    """Messages handed to delivery, of a run's messages per status (what `total_sent` and
    `campaign.paused`'s `messages_sent` report)."""
    return sum(n for s, n in totals.items() if s not in HANDED_OVER_NOT)
