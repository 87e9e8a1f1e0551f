"""The handlers of inbound events (domain.events), built on the ports the settings chose."""

from __future__ import annotations

from domain.events.erasure import ErasureHandler
from domain.events.ports import EventHandler
from domain.events.preferences import PreferencesHandler
from server.composition.factories import Ports
from server.pseudonym_key import erasure_pseudonyms
from server.settings import Settings


def event_handlers(settings: Settings, ports: Ports) -> list[EventHandler]:
    pseudonyms = ports.pseudonyms or erasure_pseudonyms(settings)
    return [
        ErasureHandler(pseudonyms, ports.clock, ports.ids),
        PreferencesHandler(ports.clock),
    ]
