"""The delivery publisher with tracking: every message is handed over as
domain.execution.tracked_content makes it (signed links, the open pixel, List-Unsubscribe),
whichever path handed it over (a run's direct dispatch, the relay, a trigger's or a fallback's
message). The stored message keeps its content; only the delivery request is tracked."""

from __future__ import annotations

from collections.abc import Sequence

from domain.execution.model import Message, MessageStatus
from domain.execution.planners import InlineTracker
from domain.execution.ports import DeliveryPublisher, DeliveryTracker
from domain.execution.tracking import TrackingLinks


class TrackedDelivery:
    def __init__(
        self,
        inner: DeliveryPublisher,
        links: TrackingLinks,
        *,
        tracker: DeliveryTracker | None = None,
    ) -> None:
        """`tracker` makes the tracked copies (in this process by default; the server may
        make a big batch's in a process of its own, adapters.runtime.planning_process)."""
        self.inner = inner
        self._tracker: DeliveryTracker = tracker or InlineTracker(links)

    @property
    def handed_over_status(self) -> MessageStatus:
        return self.inner.handed_over_status

    async def publish(self, messages: Sequence[Message]) -> None:
        await self.inner.publish(await self._tracker.track(messages))

    async def handed_over(self, messages: Sequence[Message]) -> None:
        await self.inner.handed_over(messages)
