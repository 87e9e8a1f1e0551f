"""In-process event bus for the embedded default: same contract as JetStream (deduplicated by
event id within a window), delivered to local subscribers."""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Sequence

from domain.kernel.events import DomainEvent

DEDUPLICATION_WINDOW = 100_000


class InProcessEventBus:
    def __init__(self) -> None:
        self._seen: OrderedDict[str, None] = OrderedDict()
        self._subscribers: list[asyncio.Queue[DomainEvent]] = []

    def subscribe(self) -> asyncio.Queue[DomainEvent]:
        queue: asyncio.Queue[DomainEvent] = asyncio.Queue()
        self._subscribers.append(queue)
        return queue

    async def publish(self, events: Sequence[DomainEvent]) -> None:
        for event in events:
            if event.event_id in self._seen:
                continue
            self._seen[event.event_id] = None
            if len(self._seen) > DEDUPLICATION_WINDOW:
                self._seen.popitem(last=False)
            for queue in self._subscribers:
                queue.put_nowait(event)
