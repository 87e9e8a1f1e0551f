"""The inbound events' handlers: every effect an inbound event can have, in the order they run
inside the event's transaction (the intake, domain.events.intake, runs them)."""

from __future__ import annotations

from domain.events.ports import EventHandler
from domain.events.triggers import TriggerHandler
from server.composition.factories import Ports
from server.settings import Settings


def event_handlers(settings: Settings, ports: Ports) -> list[EventHandler]:
    return [TriggerHandler(ports.audience, ports.clock, templates=ports.templates)]
