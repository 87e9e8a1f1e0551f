"""The handlers of inbound events (domain.events), built on the ports the settings chose."""

from __future__ import annotations

from domain.events.erasure import ErasureHandler
from domain.events.fallback import FallbackHandler
from domain.events.ports import EventHandler
from domain.events.preferences import PreferencesHandler
from server.composition.factories import Ports
from server.composition.services import organization_limits
from server.pseudonym_key import erasure_pseudonyms
from server.settings import Settings


def event_handlers(settings: Settings, ports: Ports) -> list[EventHandler]:
    """In this order within one event's transaction; the FallbackHandler must come after the
    message feedback handler, whose effect on the message it reads."""
    pseudonyms = ports.pseudonyms or erasure_pseudonyms(settings)
    limits = organization_limits(settings)
    return [
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
