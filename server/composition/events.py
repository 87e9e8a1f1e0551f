"""The inbound events: the handlers every event goes through, the one intake both doors feed
(EventService.TrackEvents and the NATS subscriptions), and the NATS consumers' workers."""

from __future__ import annotations

from domain.events.intake import EventIntake
from domain.events.ports import EventHandler
from domain.events.triggers import TriggerHandler
from server.composition.factories import Ports
from server.settings import Settings
from server.workers.inbound_events import InboundEventsWorker


def event_handlers(settings: Settings, ports: Ports) -> list[EventHandler]:
    """Every effect of an inbound event (feedback, triggers, erasure...), in the order they
    run inside the event's transaction."""
    return [TriggerHandler(ports.audience, ports.clock, templates=ports.templates)]


def event_intake(settings: Settings, ports: Ports) -> EventIntake:
    return EventIntake(ports.unit_of_work, event_handlers(settings, ports), ports.clock)


def inbound_workers(ports: Ports, intake: EventIntake) -> list[InboundEventsWorker]:
    """One worker per subscribed subject when NATS is configured; none otherwise."""
    if ports.inbound is None:
        return []
    return [InboundEventsWorker(consumer, intake.take) for consumer in ports.inbound.consumers]
