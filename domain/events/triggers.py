"""Triggered campaigns (BR-CAM-007, EC-CAM-004): every inbound event that is a trigger source is
evaluated against each ACTIVE triggered campaign of its organization with a trigger for its
type, each campaign on its own, inside the intake's transaction (docs/triggers.md).

Evaluation order per campaign: the event names a user; the trigger's conditions hold on the
event's properties (AND; the first trigger of the type whose conditions hold decides); the user
is in the campaign's audience right now; not suppressed everywhere; not in the holdout or the
control arm; an eligible channel whose content renders; then, under a per-(campaign, user) lock
held to the end of the transaction, fewer firings of the trigger in its window than its
frequency limit. A firing writes its messages (one per chosen channel) in the same transaction,
with ids derived from (campaign, event, user, channel), so nothing can fire twice for one event.

Timing: a trigger with a delay stores its messages held until now + delay (or the end of the
recipient's quiet hours or weekend it falls in); the trigger release (domain.events.
trigger_release) gives them throttle slots when that time comes, so the row itself is the
durable timer. Without a delay a message gets its throttle slot now, or is held while the
recipient is in quiet hours.

Every evaluation is recorded with its outcome or skip reason (domain.events.trigger_model).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from domain.audience.ports import AudienceSource
from domain.campaigns.campaign import Campaign
from domain.campaigns.model import Trigger
from domain.campaigns.templates import TemplateSource, templates_of
from domain.events.model import InboundEvent
from domain.events.ports import EventsUnitOfWork
from domain.events.trigger_decisions import (
    describe_condition,
    failing_condition,
    fires_on,
    is_trigger_source,
    plan_member,
)
from domain.events.trigger_model import ActiveCampaign, TriggerEvaluation, Verdict, evaluation_id
from domain.execution.executor import DISPATCH_HORIZON
from domain.execution.model import (
    TRIGGERED_EXECUTION,
    Message,
    MessageStatus,
    content_digest,
    message_id,
)
from domain.execution.planning import CampaignPlan, Draft
from domain.execution.ports import RateLimiter
from domain.execution.slots import LocalRules, place
from domain.execution.throttling import OrganizationLimits, limits_for
from domain.kernel.ports import Clock

CACHED_CAMPAIGNS = 10_000  # prepared definitions kept; the cache starts over beyond


@dataclass(frozen=True, slots=True)
class Prepared:
    """An active campaign's definition and its compiled plan, at one version."""

    version: int
    campaign: Campaign
    plan: CampaignPlan


class TriggerHandler:
    """The EventHandler of triggered campaigns."""

    def __init__(
        self,
        audience: AudienceSource,
        limiter: RateLimiter,
        clock: Clock,
        *,
        templates: TemplateSource | None = None,
        organization_limits: Callable[[str], OrganizationLimits] = lambda _org: (
            OrganizationLimits()
        ),
    ) -> None:
        self._audience = audience
        self._limiter = limiter
        self._clock = clock
        self._templates = templates
        self._limits = organization_limits
        # Definitions by campaign id, kept while the campaign's version stays: an event costs
        # one small indexed query (ids and versions), not a load of every campaign.
        self._prepared: dict[str, Prepared] = {}

    def accepts(self, event_type: str) -> bool:
        return is_trigger_source(event_type)

    async def handle(self, uow: EventsUnitOfWork, event: InboundEvent) -> None:
        for active in await uow.triggers.active_campaigns(event.organization_id):
            prepared = await self._prepare(uow, event.organization_id, active)
            if prepared is None:
                continue
            triggers = fires_on(prepared.campaign, event.event_type)
            if triggers:
                await self._evaluate(uow, prepared, triggers, event)

    async def _prepare(
        self, uow: EventsUnitOfWork, organization_id: str, active: ActiveCampaign
    ) -> Prepared | None:
        cached = self._prepared.get(active.campaign_id)
        if cached is not None and cached.version == active.version:
            return cached
        campaign = await uow.campaigns.get(organization_id, active.campaign_id)
        if campaign is None:
            return None
        templates = await templates_of(campaign, self._templates)
        prepared = Prepared(campaign.version, campaign, CampaignPlan.of(campaign, templates))
        if len(self._prepared) >= CACHED_CAMPAIGNS:
            self._prepared.clear()
        self._prepared[active.campaign_id] = prepared
        return prepared

    async def _evaluate(
        self,
        uow: EventsUnitOfWork,
        prepared: Prepared,
        triggers: Sequence[Trigger],
        event: InboundEvent,
    ) -> None:
        now = self._clock.now()

        async def record(
            trigger: Trigger, verdict: Verdict, reason: str = "", message_ids: Sequence[str] = ()
        ) -> None:
            campaign_id = prepared.campaign.campaign_id
            await uow.triggers.add(
                TriggerEvaluation(
                    organization_id=event.organization_id,
                    evaluation_id=evaluation_id(campaign_id, trigger.trigger_id, event.event_id),
                    campaign_id=campaign_id,
                    trigger_id=trigger.trigger_id,
                    event_id=event.event_id,
                    event_type=event.event_type,
                    user_id=event.user_id,
                    outcome=verdict,
                    reason=reason,
                    message_ids=tuple(message_ids),
                    evaluated_at=now,
                )
            )

        for trigger in triggers:
            if not event.user_id:
                await record(trigger, Verdict.NO_USER, "the event names no user_id")
                return
            failing = failing_condition(trigger.conditions, event.properties)
            if failing is not None:
                await record(trigger, Verdict.CONDITIONS_NOT_MET, describe_condition(*failing))
                continue
            verdict, reason, fired = await self._decide(uow, prepared, trigger, event, now)
            await record(trigger, verdict, reason, [m.message_id for m in fired])
            return

    async def _decide(
        self,
        uow: EventsUnitOfWork,
        prepared: Prepared,
        trigger: Trigger,
        event: InboundEvent,
        now: datetime,
    ) -> tuple[Verdict, str, list[Message]]:
        campaign = prepared.campaign
        recipient = await self._audience.member(
            event.organization_id, campaign.spec.audiences, event.user_id
        )
        if recipient is None:
            return Verdict.NOT_IN_AUDIENCE, "not in the campaign's audience right now", []
        planned = plan_member(prepared.plan, recipient)
        if planned.verdict is not None:
            return planned.verdict, planned.reason, []
        # The count and the firing it allows are one decision across replicas.
        await uow.triggers.lock_user(campaign.campaign_id, event.user_id)
        fired = await uow.triggers.fired_since(
            event.organization_id,
            campaign.campaign_id,
            trigger.trigger_id,
            event.user_id,
            now - trigger.frequency_window,
        )
        if fired >= trigger.frequency_limit:
            return (
                Verdict.FREQUENCY_LIMIT,
                f"fired {fired} time(s) in the last {trigger.frequency_window}; "
                f"the limit is {trigger.frequency_limit}",
                [],
            )
        messages = await self._messages(campaign, trigger, event, planned.drafts, now)
        await uow.messages.add_many(messages)
        deferred = any(m.held or m.status is not MessageStatus.QUEUED for m in messages)
        if trigger.delay:
            # Held for the delay by design; "deferred" only when local time moved it further.
            late = [m for m in messages if m.send_after > now + trigger.delay]
            if late:
                return (
                    Verdict.DEFERRED,
                    _deferred_reason(late[0], "quiet hours or weekend"),
                    messages,
                )
            return Verdict.FIRED, f"held for the trigger's delay of {trigger.delay}", messages
        if deferred:
            why = "quiet hours or weekend" if any(m.held for m in messages) else "the throttle"
            return Verdict.DEFERRED, _deferred_reason(messages[0], why), messages
        return Verdict.FIRED, "", messages

    async def _messages(
        self,
        campaign: Campaign,
        trigger: Trigger,
        event: InboundEvent,
        drafts: Sequence[Draft],
        now: datetime,
    ) -> list[Message]:
        throttle = campaign.spec.throttle
        local = LocalRules.of(throttle)
        scope = f"{TRIGGERED_EXECUTION}:{campaign.campaign_id}:{event.event_id}"
        out: list[Message] = []
        for draft in drafts:
            zone = draft.recipient.contact.timezone
            if trigger.delay:
                at = now + trigger.delay
                until = local.allowed(at, zone) if local is not None else at
                out.append(_message(campaign, draft, scope, until, now, held=True))
                continue
            held_until = local.held_until(zone, now) if local is not None else None
            if held_until is not None:
                out.append(_message(campaign, draft, scope, held_until, now, held=True))
                continue
            limits = limits_for(
                campaign.organization_id,
                campaign.campaign_id,
                draft.channel,
                self._limits(campaign.organization_id),
                throttle,
            )
            reservation = await self._limiter.reserve(limits, 1, now)
            send_after, status, held = place(
                reservation.slot(0), local, zone, now + DISPATCH_HORIZON
            )
            out.append(_message(campaign, draft, scope, send_after, now, held=held, status=status))
        return out


def _deferred_reason(message: Message, why: str) -> str:
    return f"{why}: goes out from {message.send_after.isoformat()}"


def _message(
    campaign: Campaign,
    draft: Draft,
    scope: str,
    send_after: datetime,
    now: datetime,
    *,
    held: bool,
    status: MessageStatus = MessageStatus.DEFERRED,
) -> Message:
    """A trigger's message: DEFERRED and `held` (no throttle slot yet) until its time, or with
    its slot (queued, or deferred to the slot)."""
    contact = draft.recipient.contact
    return Message(
        message_id=message_id(scope, contact.user_id, draft.channel),
        execution_id=TRIGGERED_EXECUTION,
        campaign_id=campaign.campaign_id,
        organization_id=campaign.organization_id,
        user_id=contact.user_id,
        variant_id=draft.variant_id,
        channel=draft.channel,
        recipient=draft.address,
        content=draft.content,
        send_after=send_after,
        queued_at=now,
        status=MessageStatus.DEFERRED if held else status,
        content_digest=content_digest(draft.content),
        held=held,
        timezone=contact.timezone,
    )
