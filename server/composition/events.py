"""The inbound events: the handlers every event goes through and the one intake the doors (and
the embedded sandbox's delivery reports) feed."""

from __future__ import annotations

from domain.events.feedback import FeedbackHandler
from domain.events.intake import EventIntake
from domain.events.ports import EventHandler
from server.composition.factories import Ports
from server.settings import Settings


def event_handlers(settings: Settings, ports: Ports) -> list[EventHandler]:
    """Every effect of an inbound event (feedback, triggers, erasure...), in the order they
    run inside the event's transaction."""
    return [FeedbackHandler(ports.ids, ports.clock)]


def event_intake(settings: Settings, ports: Ports) -> EventIntake:
    return EventIntake(ports.unit_of_work, event_handlers(settings, ports), ports.clock)
