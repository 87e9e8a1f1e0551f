"""What conversion attribution works on (docs/conversions.md): the campaigns an event type
converts, the user's messages of them (touches), the runs that held the user out, and the credits
an event gives.

A credit is one row of the conversions ledger: a message the event credited, or a holdout
membership it counted (no message). Its key, (organization, user, event, campaign, message), is
what makes the same event credited twice change nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from domain.campaigns.model import CampaignStatus
from domain.execution.model import MessageStatus

# The statuses in which a campaign's conversions are still attributed: every status in which it
# may have sent messages (a recurring campaign is SCHEDULED between its runs; a paused one's
# messages were sent), COMPLETED included, since its last messages convert for a window after.
# Not DRAFT (it never sent) nor CANCELLED (stopped by an operator: its results stay as they were).
ATTRIBUTING = frozenset(
    {
        CampaignStatus.SCHEDULED,
        CampaignStatus.ACTIVE,
        CampaignStatus.RUNNING,
        CampaignStatus.PAUSED,
        CampaignStatus.COMPLETED,
    }
)


@dataclass(frozen=True, slots=True)
class ConvertingCampaign:
    """A campaign whose conversion event type is the event's, as the per-event lookup returns
    it: enough to tell whether the cached definition is still current."""

    campaign_id: str
    version: int


@dataclass(frozen=True, slots=True)
class Touch:
    """A message of a converting campaign the user was sent: `sent_at` is when it was handed
    over (None: never sent), the instant the attribution window is measured from."""

    message_id: str
    campaign_id: str
    execution_id: str
    variant_id: str
    channel: str
    status: MessageStatus
    sent_at: datetime | None
    segment_id: str = ""  # the message's metrics segment (domain.metrics.deltas.segment_of)


@dataclass(frozen=True, slots=True)
class HoldoutMembership:
    """A run of a converting campaign that held the user out, at `held_out_at` (when the batch
    that would have sent them a message was written)."""

    campaign_id: str
    execution_id: str
    held_out_at: datetime


@dataclass(frozen=True, slots=True)
class Credit:
    """One credit of a conversion event: to a message, or (`holdout`, `message_id` "") to a
    holdout membership. `value_share` is the event's value split by the attribution model;
    `converted_at` is the event's instant."""

    organization_id: str
    user_id: str
    event_id: str
    campaign_id: str
    execution_id: str
    value_share: float
    converted_at: datetime
    message_id: str = ""
    variant_id: str = ""
    channel: str = ""
    holdout: bool = False
    segment_id: str = ""  # the credited message's metrics segment: where its value counts
    # A holdout credit that is the member's first conversion in that run: the holdout baseline
    # counts members (as `converted` counts messages), not events.
    first_for_member: bool = False
