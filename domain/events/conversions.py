"""Conversions (BR-CAM-005.3, docs/conversions.md): an inbound event whose type is a campaign's
`conversion.event_type` credits that campaign's messages to the event's user, by the campaign's
attribution model, inside the intake's transaction (domain.events.intake), so the credits commit
with the event's id or not at all.

Per batch of events, the campaigns each event type converts (one indexed query per type; their
definitions cached by version); per event, the user's messages of them and the runs that held
the user out (one indexed query each), the campaigns this event credited already (so a credited
event, even one whose id the ledger has since forgotten, changes nothing). Then per campaign
the credits (domain.events.attribution); credited messages move to CONVERTED through the message
feedback path (a report of the event's instant: the first conversion's instant is kept, and a
message never moves back), holdout memberships get their conversion instant; the credits are
recorded in the conversions ledger and turned into the counters' deltas
(domain.events.conversion_metrics).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, timedelta

from domain.campaigns.model import Conversion
from domain.campaigns.rules import ATTRIBUTION_DAYS
from domain.events.attribution import campaign_credits, conversion_instant
from domain.events.conversion_metrics import conversion_deltas
from domain.events.conversion_model import ConvertingCampaign, Credit
from domain.events.feedback import Notification, announcements
from domain.events.model import InboundEvent
from domain.events.ports import EventsUnitOfWork
from domain.events.trigger_decisions import is_trigger_source
from domain.execution.feedback import Report
from domain.execution.model import MessageStatus
from domain.kernel import outbox
from domain.kernel.events import PendingEvent
from domain.kernel.ports import Clock, IdGenerator

CACHED_CAMPAIGNS = 10_000  # conversion settings kept; the cache starts over beyond
LONGEST_WINDOW = timedelta(days=max(ATTRIBUTION_DAYS))
CONVERTED = "converted"


class ConversionHandler:
    """The EventHandler of conversions: any event type another handler does not own may be a
    campaign's conversion type (order.completed, subscription.upgraded, event.stored...)."""

    def __init__(self, ids: IdGenerator, clock: Clock) -> None:
        self._ids = ids
        self._clock = clock
        # Conversion settings by campaign id, kept while the campaign's version stays.
        self._settings: dict[str, tuple[int, Conversion | None]] = {}

    def accepts(self, event_type: str) -> bool:
        return is_trigger_source(event_type)

    async def handle(self, uow: EventsUnitOfWork, event: InboundEvent) -> None:
        await self.handle_many(uow, [event])

    async def handle_many(self, uow: EventsUnitOfWork, events: Sequence[InboundEvent]) -> None:
        """Each event in order; the campaigns an event type converts are looked up once per
        batch (with the earliest of its events' windows: a campaign only a later event could
        not reach finds no message of the user in that event's window, and credits nothing)."""
        now = self._clock.now()
        earliest: dict[tuple[str, str], datetime] = {}
        for event in events:
            if event.user_id:
                key = (event.organization_id, event.event_type)
                since = conversion_instant(event, now) - LONGEST_WINDOW
                earliest[key] = min(earliest.get(key, since), since)
        converting = {
            key: await uow.conversions.converting_campaigns(*key, since)
            for key, since in earliest.items()
        }
        for event in events:
            found = converting.get((event.organization_id, event.event_type))
            if found:
                await self._handle(uow, event, found)

    async def _handle(
        self, uow: EventsUnitOfWork, event: InboundEvent, found: Sequence[ConvertingCampaign]
    ) -> None:
        store = uow.conversions
        now = self._clock.now()
        at = conversion_instant(event, now)
        if not found:
            return
        credited = await store.credited_campaigns(
            event.organization_id, event.user_id, event.event_id
        )
        settings: dict[str, Conversion] = {}
        for campaign in found:
            conversion = await self._conversion(uow, event.organization_id, campaign)
            if conversion is not None and campaign.campaign_id not in credited:
                settings[campaign.campaign_id] = conversion
        if not settings:
            return
        since = at - timedelta(days=max(c.attribution_window_days for c in settings.values()))
        ids = sorted(settings)
        touches = await store.touches(event.organization_id, event.user_id, ids, since, at)
        memberships = await store.holdout_memberships(
            event.organization_id, event.user_id, ids, since, at
        )
        credits: list[Credit] = []
        for campaign_id in ids:
            credits += campaign_credits(
                event,
                campaign_id,
                settings[campaign_id],
                touches=touches,
                memberships=memberships,
                at=at,
            )
        if not credits:
            return
        await self._convert_messages(uow, [c for c in credits if not c.holdout])
        credits = [await self._convert_member(uow, c) for c in credits]
        await store.add(credits, now)
        await uow.metrics.add(conversion_deltas(credits), now)

    async def _conversion(
        self, uow: EventsUnitOfWork, organization_id: str, campaign: ConvertingCampaign
    ) -> Conversion | None:
        cached = self._settings.get(campaign.campaign_id)
        if cached is not None and cached[0] == campaign.version:
            return cached[1]
        loaded = await uow.campaigns.get(organization_id, campaign.campaign_id)
        if loaded is None:
            return None
        if len(self._settings) >= CACHED_CAMPAIGNS:
            self._settings.clear()
        self._settings[campaign.campaign_id] = (loaded.version, loaded.spec.conversion)
        return loaded.spec.conversion

    async def _convert_messages(self, uow: EventsUnitOfWork, credits: Sequence[Credit]) -> None:
        """Each credited message reports CONVERTED at the event's instant (the feedback path:
        the earliest instant is kept, a message never moves back); every status it newly
        reached is announced, as a provider's report would be."""
        if not credits:
            return
        applied = await uow.messages.apply_reports(
            [
                (c.organization_id, c.message_id, Report(MessageStatus.CONVERTED, c.converted_at))
                for c in credits
            ]
        )
        announced: list[PendingEvent] = []
        for credit, outcome in zip(credits, applied, strict=True):
            if outcome is None:  # read under lock a moment ago: cannot happen
                continue
            report = Report(MessageStatus.CONVERTED, credit.converted_at)
            announced += announcements(outcome, Notification(credit.message_id, CONVERTED, report))
        await outbox.record(uow.outbox, announced, self._ids, self._clock)

    async def _convert_member(self, uow: EventsUnitOfWork, credit: Credit) -> Credit:
        if not credit.holdout:
            return credit
        first = await uow.conversions.convert_holdout(
            credit.organization_id, credit.execution_id, credit.user_id, credit.converted_at
        )
        return replace(credit, first_for_member=first)
