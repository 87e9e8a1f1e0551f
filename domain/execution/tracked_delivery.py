"""The delivery publisher with tracking: every message is handed over as
domain.execution.tracked_content makes it (signed links, the open pixel, List-Unsubscribe),
whichever path handed it over (a run's direct dispatch, the relay, a trigger's or a fallback's
message). The stored message keeps its content; only the delivery request is tracked."""

from __future__ import annotations

from collections.abc import Sequence

from domain.execution.model import Message, MessageStatus
from domain.execution.ports import DeliveryPublisher
from domain.execution.tracked_content import tracked
from domain.execution.tracking import TrackingLinks


class TrackedDelivery:
    def __init__(self, inner: DeliveryPublisher, links: TrackingLinks) -> None:
        self.inner = inner
        self._links = links

    @property
    def handed_over_status(self) -> MessageStatus:
        return self.inner.handed_over_status

    async def publish(self, messages: Sequence[Message]) -> None:
        links = self._links
        await self.inner.publish([tracked(m, links) for m in messages])

    async def handed_over(self, messages: Sequence[Message]) -> None:
        await self.inner.handed_over(messages)
