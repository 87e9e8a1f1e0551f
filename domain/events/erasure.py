"""`user.deleted`: the user's GDPR erasure in what this service stores (docs/erasure.md).

Payload: {"user_id": "..."} (the envelope's user_id serves too). The erasure runs in the
intake's transaction, so it commits together with the event's id: a redelivery finds the id
taken, and a failure leaves nothing half erased. It ends with one audit event,
`campaign.user.erased`, which names the user only by pseudonym.
"""

from __future__ import annotations

from dataclasses import asdict

from domain.audience.pseudonyms import Pseudonyms
from domain.events.intake import RejectedEventError
from domain.events.lifecycle import ERASED_REASON
from domain.events.model import USER_DELETED, InboundEvent
from domain.events.ports import EventsUnitOfWork
from domain.kernel.events import PendingEvent
from domain.kernel.outbox import record
from domain.kernel.ports import Clock, IdGenerator

USER_ERASED = "campaign.user.erased"


def user_of(event: InboundEvent) -> str:
    """The user an event of the lifecycle is about: the envelope's user_id, else the payload's."""
    user_id = event.user_id or event.properties.get("user_id") or ""
    if not isinstance(user_id, str) or not user_id.strip():
        raise RejectedEventError(f"{event.event_type}: user_id is required")
    return user_id


class ErasureHandler:
    def __init__(self, pseudonyms: Pseudonyms, clock: Clock, ids: IdGenerator) -> None:
        self._pseudonyms = pseudonyms
        self._clock = clock
        self._ids = ids

    def accepts(self, event_type: str) -> bool:
        return event_type == USER_DELETED

    async def handle(self, uow: EventsUnitOfWork, event: InboundEvent) -> None:
        user_id = user_of(event)
        org = event.organization_id
        now = self._clock.now()
        counts = await uow.personal_data.erase(org, user_id, self._pseudonyms, ERASED_REASON, now)
        audit = PendingEvent(
            USER_ERASED,
            org,
            {"user_pseudonym": self._pseudonyms.user(org, user_id), **asdict(counts)},
        )
        await record(uow.outbox, [audit], self._ids, self._clock)
