"""Channel fallback on outcome (BR-CAM-003.3): a message that failed or hard-bounced on its
channel is tried once on the next eligible channel of its campaign's order (docs/lifecycle.md).

The new message is planned as a run plans one (domain.execution.planning: same arm, content
rendered from the contact's profile) and timed as a run times one: quiet hours and weekends hold
it, otherwise it takes a slot of the campaign's, the organization's and the channel's rate limits.
Its id is derived from the original's id and its channel, so however often the failure is
reported, one fallback exists.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime

from domain.audience.contacts import Contact
from domain.audience.model import Recipient
from domain.campaigns.campaign import Campaign
from domain.campaigns.model import ChannelStrategy
from domain.campaigns.templates import Template
from domain.execution.model import Message, MessageStatus, fallback_message_id
from domain.execution.planning import CampaignPlan, draft_message, fallback_draft
from domain.execution.ports import RateLimiter
from domain.execution.slots import LocalRules, place
from domain.execution.throttling import OrganizationLimits, limits_for
from domain.kernel.channels import Channel

# Outcomes after which a message may fall back: it was handed over and did not arrive. SENT
# covers a failure reported before (or without) the feedback that records it on the message.
FALLS_BACK_FROM = frozenset({MessageStatus.SENT, MessageStatus.FAILED, MessageStatus.BOUNCED})


def plan_fallback(
    original: Message,
    campaign: Campaign,
    contact: Contact,
    suppressed: frozenset[Channel],
    *,
    templates: Mapping[str, Template],
    now: datetime,
) -> Message | None:
    """The one fallback of `original`, rendered but not timed yet (`time_fallback`), or None
    when there is none to send: the campaign does not fall back, the message is a fallback
    itself or was not handed over, or no later channel is eligible. A content that fails to
    render gives a FAILED message with the reason, as in a run."""
    spec = campaign.spec
    if (
        spec.channel_strategy is not ChannelStrategy.FALLBACK
        or original.fallback_of
        or original.status not in FALLS_BACK_FROM
    ):
        return None
    plan = CampaignPlan.of(campaign, templates)
    recipient = Recipient(contact, suppressed)
    draft = fallback_draft(plan, recipient, original.variant_id, original.channel)
    if draft is None:
        return None
    # The original's user and variant: a draft's contact is the same user, its arm the same.
    message = draft_message(
        draft,
        message_id=fallback_message_id(original.message_id, draft.channel),
        execution_id=original.execution_id,
        campaign_id=original.campaign_id,
        organization_id=original.organization_id,
        send_after=now,
        now=now,
        fallback_of=original.message_id,
    )
    if draft.error:
        return replace(message, status=MessageStatus.FAILED, failed_at=now, error=draft.error)
    return message


async def time_fallback(
    message: Message,
    campaign: Campaign,
    *,
    limiter: RateLimiter,
    organization_limits: OrganizationLimits,
    now: datetime,
) -> Message:
    """Quiet hours and weekends hold it without a slot, as a run holds one; otherwise it takes
    a slot of the campaign's, the organization's and the channel's limits (QUEUED when due now,
    DEFERRED to a later slot)."""
    if message.status is MessageStatus.FAILED:
        return message
    throttle = campaign.spec.throttle
    local = LocalRules.of(throttle)
    until = local.held_until(message.timezone, now) if local is not None else None
    if until is not None:
        return replace(message, send_after=until, status=MessageStatus.DEFERRED, held=True)
    limits = limits_for(
        message.organization_id,
        campaign.campaign_id,
        message.channel,
        organization_limits,
        throttle,
    )
    reservation = await limiter.reserve(limits, 1, now)
    send_after, status, held = place(reservation.slot(0), local, message.timezone, now)
    return replace(message, send_after=send_after, status=status, held=held)
