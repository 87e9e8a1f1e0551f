"""`notification.failed` and hard `notification.bounced`: the channel fallback on outcome
(BR-CAM-003.3; domain.execution.fallback, docs/lifecycle.md).

Runs after the feedback handler in the same transaction (it is listed after it), so the stored
message already says what the report made of it. A soft bounce is retried by the provider, not
here. Nothing to do (no such message, a campaign without the fallback strategy, no eligible later
channel, a contact the built-in directory does not know) is not an error: the report's other
effects stand.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from domain.audience.ports import ContactDirectory, SuppressionStore
from domain.campaigns.templates import TemplateSource, templates_of
from domain.events.model import NOTIFICATION_PREFIX, InboundEvent
from domain.events.ports import EventsUnitOfWork
from domain.execution.fallback import plan_fallback, time_fallback
from domain.execution.ports import RateLimiter
from domain.execution.throttling import OrganizationLimits
from domain.kernel.channels import Channel
from domain.kernel.ports import Clock

FAILED = NOTIFICATION_PREFIX + "failed"
BOUNCED = NOTIFICATION_PREFIX + "bounced"
HARD_BOUNCES = frozenset({"hard", "permanent"})


def falls_back(event: InboundEvent) -> bool:
    """A failure, or a bounce the provider calls hard (permanent)."""
    if event.event_type == FAILED:
        return True
    bounce = event.properties.get("bounce_type")
    return isinstance(bounce, str) and bounce.strip().lower() in HARD_BOUNCES


class FallbackHandler:
    def __init__(
        self,
        contacts: ContactDirectory,
        suppressions: SuppressionStore,
        limiter: RateLimiter,
        clock: Clock,
        *,
        organization_limits: Callable[[str], OrganizationLimits],
        templates: TemplateSource | None = None,
    ) -> None:
        self._contacts = contacts
        self._suppressions = suppressions
        self._limiter = limiter
        self._clock = clock
        self._limits = organization_limits
        self._templates = templates

    def accepts(self, event_type: str) -> bool:
        return event_type in (FAILED, BOUNCED)

    async def handle(self, uow: EventsUnitOfWork, event: InboundEvent) -> None:
        message_id: Any = event.properties.get("message_id")
        if not isinstance(message_id, str) or not message_id or not falls_back(event):
            return
        org = event.organization_id
        original = await uow.messages.get(org, message_id)
        if original is None:
            return  # the feedback handler says so to the sender
        campaign = await uow.campaigns.get(org, original.campaign_id)
        if campaign is None:
            return
        # Read outside the transaction (the directory and the suppression list are their own
        # stores); both reads repeat harmlessly when the event comes again.
        contact = await self._contacts.get(org, original.user_id)
        if contact is None:
            return
        channels = (await self._suppressions.suppressed_channels(org, [contact])).get(
            contact.user_id, frozenset()
        )
        suppressed = frozenset(Channel) if channels is None else channels
        now = self._clock.now()
        templates = await templates_of(campaign, self._templates)
        planned = plan_fallback(
            original, campaign, contact, suppressed, templates=templates, now=now
        )
        if planned is None or await uow.messages.get(org, planned.message_id) is not None:
            return  # nothing to try, or tried already (a second report of the failure)
        timed = await time_fallback(
            planned, campaign, limiter=self._limiter, organization_limits=self._limits(org), now=now
        )
        await uow.messages.add_fallback(timed)
