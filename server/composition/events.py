"""The inbound events: the handlers every event goes through, the one intake both doors feed
(EventService.TrackEvents and the NATS subscriptions) and the embedded sandbox's delivery reports,
and the NATS consumers' workers."""

from __future__ import annotations

from collections.abc import Callable

from domain.events.conversions import ConversionHandler
from domain.events.erasure import ErasureHandler
from domain.events.fallback import FallbackHandler
from domain.events.feedback import FeedbackHandler
from domain.events.intake import EventIntake
from domain.events.ports import EventHandler
from domain.events.preferences import PreferencesHandler
from domain.events.triggers import HandOver, TriggerHandler
from server.composition.factories import Ports
from server.composition.limits import marketing_caps, organization_limits
from server.pseudonym_key import erasure_pseudonyms
from server.settings import Settings
from server.workers.inbound_events import InboundEventsWorker


def event_handlers(
    settings: Settings, ports: Ports, *, hand_over: HandOver | None = None
) -> list[EventHandler]:
    """Every effect of an inbound event, in the order they run inside the event's transaction.
    The FallbackHandler comes after the FeedbackHandler, whose effect on the message it reads;
    the ConversionHandler before the TriggerHandler, so a firing's new messages are never among
    the ones a conversion weighs (they are not sent yet anyway). `hand_over`: where a trigger's
    messages due at once go after the commit (none: the trigger release takes them)."""
    pseudonyms = ports.pseudonyms or erasure_pseudonyms(settings)
    limits = organization_limits(settings)
    return [
        FeedbackHandler(ports.ids, ports.clock),
        ConversionHandler(ports.ids, ports.clock),
        TriggerHandler(
            ports.audience,
            ports.clock,
            templates=ports.templates,
            marketing_caps=marketing_caps(settings),
            hand_over=hand_over,
        ),
        ErasureHandler(pseudonyms, ports.clock, ports.ids),
        PreferencesHandler(ports.clock),
        FallbackHandler(
            ports.contacts,
            ports.suppressions,
            ports.limiter,
            ports.clock,
            organization_limits=lambda _org: limits,
            templates=ports.templates,
        ),
    ]


def event_intake(
    settings: Settings,
    ports: Ports,
    *,
    on_accepted: Callable[[], None] = lambda: None,
    hand_over: HandOver | None = None,
) -> EventIntake:
    return EventIntake(
        ports.unit_of_work,
        event_handlers(settings, ports, hand_over=hand_over),
        ports.clock,
        on_accepted=on_accepted,
    )


def inbound_workers(ports: Ports, intake: EventIntake) -> list[InboundEventsWorker]:
    """One worker per subscribed subject when NATS is configured; none otherwise."""
    if ports.inbound is None:
        return []
    return [
        InboundEventsWorker(consumer, intake.take, intake.take_batch)
        for consumer in ports.inbound.consumers
    ]
