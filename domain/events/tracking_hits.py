"""What a hit on a tracking link does (docs/tracking.md): an open, a click or an unsubscribe
becomes a `notification.*` report taken by the one intake (domain.events.intake), so it shares
the reports' idempotency, their state machine (the message reaches OPENED, CLICKED or
UNSUBSCRIBED once), their suppression and their `campaign.message.*` announcements.

A link that does not verify, or names a message the organization does not have, is refused
(None / False: the HTTP edge answers 404) and nothing changes. A click leads only to the link
of the message's stored HTML body at the token's position, and only if that link is still the
URL the token was signed for: a token can never be turned into an open redirect.

Every open and click hit has an event id of its own (each one counts in the totals where the
report is applied, domain.metrics.deltas.hits); an unsubscribe's id is the message's, so a
second one is a duplicate and changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from domain.events.intake import EventIntake
from domain.events.model import NOTIFICATION_PREFIX, Door, InboundEvent, Outcome
from domain.events.ports import EventsUnitOfWorkFactory
from domain.execution.model import Message
from domain.execution.tracked_content import HTML_BODY, links_in
from domain.execution.tracking import Purpose, TrackedLink, TrackingLinks, link_digest
from domain.kernel.ports import Clock, IdGenerator


class TrackingHits:
    def __init__(
        self,
        intake: EventIntake,
        links: TrackingLinks,
        uow: EventsUnitOfWorkFactory,
        clock: Clock,
        ids: IdGenerator,
        *,
        on_unsubscribed: Callable[[], None] = lambda: None,
    ) -> None:
        """`on_unsubscribed` is told after an unsubscribe took effect: the server wakes the
        outbox relay, so `campaign.message.unsubscribed` goes out at once, not at its poll."""
        self._intake = intake
        self._links = links
        self._uow = uow
        self._clock = clock
        self._ids = ids
        self._on_unsubscribed = on_unsubscribed

    async def open(self, token: str) -> bool:
        link = self._links.read(Purpose.OPEN, token)
        if link is None:
            return False
        return await self._report(link, "opened", f"open:{self._ids.new_id()}") is not None

    async def click(self, token: str) -> str | None:
        """The URL to redirect to, once the click is taken; None for a refused link."""
        link = self._links.read(Purpose.CLICK, token)
        if link is None:
            return None
        message = await self._message(link)
        if message is None:
            return None
        urls = links_in(message.content.get(HTML_BODY, ""))
        if link.index >= len(urls) or link_digest(urls[link.index]) != link.digest:
            return None
        url = urls[link.index]
        extra = {"link_url": url, "link_id": str(link.index)}
        taken = await self._report(link, "clicked", f"click:{self._ids.new_id()}", extra)
        return url if taken is not None else None

    async def unsubscribe_target(self, token: str) -> Message | None:
        """The message an unsubscribe link names, to confirm before the POST (a GET never
        unsubscribes: mail scanners fetch links); None for a refused link."""
        link = self._links.read(Purpose.UNSUBSCRIBE, token)
        return None if link is None else await self._message(link)

    async def unsubscribe(self, token: str) -> bool:
        """RFC 8058's one-click POST: the address is suppressed on the message's channel, the
        message becomes UNSUBSCRIBED and `campaign.message.unsubscribed` is announced; a second
        one changes nothing (and is still answered as done)."""
        link = self._links.read(Purpose.UNSUBSCRIBE, token)
        if link is None:
            return False
        outcome = await self._report(link, "unsubscribed", f"unsubscribe:{link.message_id}")
        if outcome is Outcome.ACCEPTED:
            self._on_unsubscribed()
        return outcome is not None

    async def _message(self, link: TrackedLink) -> Message | None:
        async with self._uow(read_only=True) as uow:
            return await uow.messages.get(link.organization_id, link.message_id)

    async def _report(
        self, link: TrackedLink, kind: str, event_id: str, extra: dict[str, Any] | None = None
    ) -> Outcome | None:
        """Take the hit as a `notification.<kind>` report; its outcome, None when refused."""
        now = self._clock.now()
        event = InboundEvent(
            organization_id=link.organization_id,
            event_id=f"tracking:{event_id}",
            event_type=NOTIFICATION_PREFIX + kind,
            occurred_at=now,
            properties={
                "message_id": link.message_id,
                "status": kind,
                "occurred_at": now.isoformat(),
                **(extra or {}),
            },
            door=Door.TRACKING,
        )
        taken = await self._intake.take(event)
        return None if taken.outcome is Outcome.REJECTED else taken.outcome
