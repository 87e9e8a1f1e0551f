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

Timing: every message is stored held (DEFERRED, no throttle slot yet) until now + the trigger's
delay (0 without one), moved to the end of the recipient's quiet hours or weekend it falls into;
the trigger release (domain.events.trigger_release) gives it its throttle slot when that time
comes, and the relay hands it over at the slot. The row is the durable timer. A message due at
once is stored under a claim (held CLAIM_LEASE ahead, as the release claims) and handed over
by this process right after the commit (domain.events.trigger_handover); the release takes it
only if that hand-over never happens. The slot is not
reserved here, inside the intake's transaction: the limiter records every reservation in its
durable log on a connection of its own (domain.execution.reseeding), which on SQLite waits for
the very write lock this transaction holds, and anywhere it would make a limiter outage fail the
event's intake.

Every evaluation is recorded with its outcome or skip reason (domain.events.trigger_model).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

from domain.audience.model import Condition, Recipient
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
from domain.events.trigger_release import CLAIM_LEASE
from domain.execution.frequency_cap import MarketingCaps, split_by_allowance
from domain.execution.model import (
    TRIGGERED_EXECUTION,
    Message,
    MessageStatus,
    message_id,
)
from domain.execution.planning import CampaignPlan, Draft, draft_message
from domain.execution.slots import LocalRules
from domain.kernel.ports import Clock

CACHED_CAMPAIGNS = 10_000  # prepared definitions kept; the cache starts over beyond


@dataclass(frozen=True, slots=True)
class Prepared:
    """An active campaign's definition and its compiled plan, at one version."""

    version: int
    campaign: Campaign
    plan: CampaignPlan
    # Its triggers by event type, filled as event types come (fires_on, once per type).
    by_type: dict[str, tuple[Trigger, ...]] = field(default_factory=dict, compare=False)

    # The skip reasons of its conditions, by (trigger id, condition index), made once each.
    reasons: dict[tuple[str, int], str] = field(default_factory=dict, compare=False)

    def triggers_for(self, event_type: str) -> tuple[Trigger, ...]:
        found = self.by_type.get(event_type)
        if found is None:
            found = self.by_type[event_type] = fires_on(self.campaign, event_type)
        return found

    def reason(self, trigger: Trigger, failing: tuple[int, Condition]) -> str:
        key = (trigger.trigger_id, failing[0])
        found = self.reasons.get(key)
        if found is None:
            found = self.reasons[key] = describe_condition(*failing)
        return found


# The first condition each trigger's conditions fail on an event (None: all hold), in the
# triggers' order: decided once per (event, campaign) and read by every step of the batch.
Failing = tuple[tuple[int, Condition] | None, ...]


class _Work:
    """One event weighed against one campaign with triggers for its type, its conditions
    decided: made for every active triggered campaign on every event, so a plain class."""

    __slots__ = ("candidate", "event", "failing", "prepared", "triggers")

    def __init__(self, event: InboundEvent, prepared: Prepared, triggers: tuple[Trigger, ...]):
        self.event = event
        self.prepared = prepared
        self.triggers = triggers
        properties = event.properties
        self.failing: Failing = tuple(
            [failing_condition(t.conditions, properties) for t in triggers]
        )
        # Names a user and meets some trigger's conditions: only then is the audience asked.
        self.candidate = bool(event.user_id) and None in self.failing


# The audience membership of (campaign id, user id) pairs; absent: not a member.
Members = dict[tuple[str, str], Recipient]
FIRINGS = frozenset({Verdict.FIRED, Verdict.DEFERRED})  # what counts against a frequency limit
# Takes one campaign's messages to hand over once their transaction committed; False: not taken.
HandOver = Callable[[Campaign, Sequence[Message]], bool]


@dataclass(slots=True)
class _Batch:
    """What the evaluations of one batch of events share until the batch's end."""

    members: Members
    now: datetime  # the evaluations' instant
    recorded: list[TriggerEvaluation] = field(default_factory=list)
    # Stored firings in the window, by (campaign, trigger, user), read under the batch's locks.
    firings: dict[tuple[str, str, str], Sequence[datetime]] = field(default_factory=dict)
    messages: list[Message] = field(default_factory=list)  # fired, written at the batch's end
    # Firings by (campaign, trigger, user) recorded in this batch, not yet in the store: they
    # count against the frequency limit of the batch's later events.
    fired: Counter[tuple[str, str, str]] = field(default_factory=Counter)
    # Messages stored under a claim, by campaign id: handed over after the commit.
    handed: dict[str, tuple[Campaign, list[Message]]] = field(default_factory=dict)


class TriggerHandler:
    """The (batch) EventHandler of triggered campaigns."""

    def __init__(
        self,
        audience: AudienceSource,
        clock: Clock,
        *,
        templates: TemplateSource | None = None,
        marketing_caps: MarketingCaps | None = None,
        hand_over: HandOver | None = None,
    ) -> None:
        """`marketing_caps`: the organization's cross-campaign frequency cap, which a firing
        respects as a run does (domain.execution.frequency_cap). `hand_over`: where messages
        due at once go after the commit (TriggerHandOver.submit); without it they wait for the
        trigger release like any held message."""
        self._hand_over = hand_over
        self._caps = marketing_caps or MarketingCaps()
        self._audience = audience
        self._clock = clock
        self._templates = templates
        # Definitions by campaign id, kept while the campaign's version stays: an event costs
        # one small indexed query (ids and versions), not a load of every campaign.
        self._prepared: dict[str, Prepared] = {}

    def accepts(self, event_type: str) -> bool:
        return is_trigger_source(event_type)

    async def handle(self, uow: EventsUnitOfWork, event: InboundEvent) -> None:
        await self.handle_many(uow, [event])

    async def handle_many(self, uow: EventsUnitOfWork, events: Sequence[InboundEvent]) -> None:
        """Each event against each of its organization's active campaigns, in order. Per batch,
        not per event: one read of the active campaigns per organization, one membership query
        per campaign for the users whose conditions held, one write of every evaluation (an
        event is weighed against every active campaign, and most of them skip it)."""
        active: dict[str, list[Prepared]] = {}
        for organization_id in dict.fromkeys(e.organization_id for e in events):
            active[organization_id] = await self._active(uow, organization_id)
        work = [
            _Work(event, prepared, triggers)
            for event in events
            for prepared in active[event.organization_id]
            if (triggers := prepared.triggers_for(event.event_type))
        ]
        batch = _Batch(await self._members(work), self._clock.now())
        await self._lock_and_count(uow, work, batch)
        for item in work:
            if item.event.user_id and not item.candidate:
                _skip(batch, item)  # most items: no coroutine for a decision already made
            else:
                await self._evaluate(uow, item, batch)
        await uow.messages.add_many(batch.messages)
        await uow.triggers.add(batch.recorded)
        if batch.handed and self._hand_over is not None:
            hand_over, handed = self._hand_over, list(batch.handed.values())

            def submit() -> None:
                for campaign, messages in handed:
                    hand_over(campaign, messages)

            uow.on_commit(submit)

    async def _lock_and_count(
        self,
        uow: EventsUnitOfWork,
        work: Sequence[_Work],
        batch: _Batch,
    ) -> None:
        """Lock every (campaign, user) the batch may fire, in one statement, then read their
        firings in the longest window involved: the frequency count and the firings it allows
        are one decision across replicas, as with a lock and a count per event."""
        now = batch.now
        pairs: dict[str, set[tuple[str, str]]] = {}
        since: dict[str, datetime] = {}
        for item in work:
            event, campaign_id = item.event, item.prepared.campaign.campaign_id
            if (campaign_id, event.user_id) not in batch.members:
                continue
            for trigger, failing in zip(item.triggers, item.failing, strict=True):
                if failing is None:
                    organization_id = event.organization_id
                    pairs.setdefault(organization_id, set()).add((campaign_id, event.user_id))
                    earliest = now - trigger.frequency_window
                    since[organization_id] = min(since.get(organization_id, earliest), earliest)
                    break
        await uow.triggers.lock_users(sorted(p for found in pairs.values() for p in found))
        for organization_id, found in pairs.items():
            batch.firings.update(
                await uow.triggers.firings_since(
                    organization_id, sorted(found), since[organization_id]
                )
            )

    async def _active(self, uow: EventsUnitOfWork, organization_id: str) -> list[Prepared]:
        found = []
        for active in await uow.triggers.active_campaigns(organization_id):
            prepared = await self._prepare(uow, organization_id, active)
            if prepared is not None:
                found.append(prepared)
        return found

    async def _members(self, work: Sequence[_Work]) -> Members:
        """The audience membership, right now, of every (campaign, user) an evaluation will ask
        about: those whose event names a user and meets some trigger's conditions."""
        wanted: dict[str, tuple[Campaign, set[str]]] = {}
        for item in work:
            if item.candidate:
                campaign = item.prepared.campaign
                users = wanted.setdefault(campaign.campaign_id, (campaign, set()))[1]
                users.add(item.event.user_id)
        members: Members = {}
        for campaign_id, (campaign, users) in wanted.items():
            found = await self._audience.members(
                campaign.organization_id, campaign.spec.audiences, sorted(users)
            )
            members.update(((campaign_id, u), r) for u, r in found.items())
        return members

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

    async def _evaluate(self, uow: EventsUnitOfWork, item: _Work, batch: _Batch) -> None:
        """Decide one campaign's evaluation and add it to the batch's."""
        event, prepared = item.event, item.prepared
        for trigger, failing in zip(item.triggers, item.failing, strict=True):
            if not event.user_id:
                _record(batch, item, trigger, Verdict.NO_USER, "the event names no user_id")
                return
            if failing is not None:
                reason = prepared.reason(trigger, failing)
                _record(batch, item, trigger, Verdict.CONDITIONS_NOT_MET, reason)
                continue
            verdict, reason, fired = await self._decide(
                uow, prepared, trigger, event, batch=batch, now=batch.now
            )
            _record(
                batch, item, trigger, verdict, reason, message_ids=[m.message_id for m in fired]
            )
            return

    async def _decide(
        self,
        uow: EventsUnitOfWork,
        prepared: Prepared,
        trigger: Trigger,
        event: InboundEvent,
        *,
        batch: _Batch,
        now: datetime,
    ) -> tuple[Verdict, str, list[Message]]:
        campaign = prepared.campaign
        recipient = batch.members.get((campaign.campaign_id, event.user_id))
        if recipient is None:
            return Verdict.NOT_IN_AUDIENCE, "not in the campaign's audience right now", []
        planned = plan_member(prepared.plan, recipient)
        if planned.verdict is Verdict.HOLDOUT:  # a held-out firing counts (docs/metrics.md)
            await uow.messages.record_holdouts(
                event.organization_id, campaign.campaign_id, TRIGGERED_EXECUTION, 1
            )
        if planned.verdict is not None:
            return planned.verdict, planned.reason, []
        # Locked and read before the batch's evaluations (_lock_and_count): the firings in
        # the window, stored or earlier in this batch.
        key = (campaign.campaign_id, trigger.trigger_id, event.user_id)
        window_start = now - trigger.frequency_window
        fired = batch.fired[key] + sum(1 for at in batch.firings.get(key, ()) if at >= window_start)
        if fired >= trigger.frequency_limit:
            return (
                Verdict.FREQUENCY_LIMIT,
                f"fired {fired} time(s) in the last {trigger.frequency_window}; "
                f"the limit is {trigger.frequency_limit}",
                [],
            )
        messages = self._messages(campaign, trigger, event, planned.drafts, now)
        if self._caps.cap_for(event.organization_id) is None:
            # written with the batch's others
            batch.messages.extend(self._claimed(campaign, messages, batch, now))
            capped: list[Message] = []
        else:
            # The cap counts the user's stored messages: the batch's so far are written first.
            await uow.messages.add_many(batch.messages)
            batch.messages.clear()
            messages, capped = await self._within_cap(uow, event, messages, now)
            await uow.messages.add_many(self._claimed(campaign, messages, batch, now) + capped)
        if not messages:
            return Verdict.MARKETING_CAP, capped[0].error, capped
        # "deferred" when local time moved a message past its time; the delay is by design.
        late = [m for m in messages if m.send_after > now + trigger.delay]
        if late:
            when = late[0].send_after.isoformat()
            return Verdict.DEFERRED, f"quiet hours or weekend: goes out from {when}", messages
        if trigger.delay:
            return Verdict.FIRED, f"held for the trigger's delay of {trigger.delay}", messages
        return Verdict.FIRED, "", messages

    def _claimed(
        self, campaign: Campaign, messages: Sequence[Message], batch: _Batch, now: datetime
    ) -> list[Message]:
        """The messages as stored: those due at once held under a claim for this process's
        hand-over (and noted for it), the others as they are."""
        if self._hand_over is None:
            return list(messages)
        stored: list[Message] = []
        for message in messages:
            if message.held and message.send_after <= now:
                claimed = replace(message, send_after=now + CLAIM_LEASE)
                batch.handed.setdefault(campaign.campaign_id, (campaign, []))[1].append(claimed)
                stored.append(claimed)
            else:
                stored.append(message)
        return stored

    async def _within_cap(
        self, uow: EventsUnitOfWork, event: InboundEvent, messages: list[Message], now: datetime
    ) -> tuple[list[Message], list[Message]]:
        """(kept, capped): the messages the organization's marketing cap does not allow come
        back SUPPRESSED with the cap as their reason, as in a run; no query without a cap."""
        cap = self._caps.cap_for(event.organization_id)
        if cap is None:
            return messages, []
        allowance = await self._caps.allowed(
            uow.messages, event.organization_id, [event.user_id], now
        )
        if allowance is None:
            return messages, []
        kept, over = split_by_allowance(messages, lambda m: m.user_id, allowance)
        capped = [
            replace(m, status=MessageStatus.SUPPRESSED, held=False, error=cap.reason) for m in over
        ]
        return kept, capped

    def _messages(
        self,
        campaign: Campaign,
        trigger: Trigger,
        event: InboundEvent,
        drafts: Sequence[Draft],
        now: datetime,
    ) -> list[Message]:
        """Every message held until its time: now + the delay, or now, moved to the end of
        quiet hours or a weekend it falls into. The trigger release gives it its throttle slot
        then, outside this transaction (see the module docstring)."""
        local = LocalRules.of(campaign.spec.throttle)
        scope = f"{TRIGGERED_EXECUTION}:{campaign.campaign_id}:{event.event_id}"
        at = now + trigger.delay
        out: list[Message] = []
        for draft in drafts:
            until = local.allowed(at, draft.recipient.contact.timezone) if local else at
            out.append(_message(campaign, draft, scope, until, now))
        return out


def _skip(batch: _Batch, item: _Work) -> None:
    """The evaluation of a campaign none of whose triggers' conditions the event meets."""
    for trigger, failing in zip(item.triggers, item.failing, strict=True):
        assert failing is not None
        reason = item.prepared.reason(trigger, failing)
        _record(batch, item, trigger, Verdict.CONDITIONS_NOT_MET, reason)


def _record(
    batch: _Batch,
    item: _Work,
    trigger: Trigger,
    verdict: Verdict,
    reason: str = "",
    *,
    message_ids: Sequence[str] = (),
) -> None:
    event, campaign_id = item.event, item.prepared.campaign.campaign_id
    if verdict in FIRINGS:
        batch.fired[(campaign_id, trigger.trigger_id, event.user_id)] += 1
    batch.recorded.append(
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
            evaluated_at=batch.now,
        )
    )


def _message(
    campaign: Campaign, draft: Draft, scope: str, send_after: datetime, now: datetime
) -> Message:
    """A trigger's message, `held` (DEFERRED without a throttle slot) until `send_after`."""
    return draft_message(
        draft,
        message_id=message_id(scope, draft.recipient.contact.user_id, draft.channel),
        execution_id=TRIGGERED_EXECUTION,
        campaign_id=campaign.campaign_id,
        organization_id=campaign.organization_id,
        send_after=send_after,
        now=now,
        status=MessageStatus.DEFERRED,
        held=True,
    )
