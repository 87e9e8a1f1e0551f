"""One worker per subscribed NATS subject: pull a batch, hand each event to the intake, settle
it; stopped by draining, so a stop never leaves a fetched batch half settled."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import Protocol

from domain.events.model import InboundEvent, Taken
from server.workers.loop import WorkerLoop

Take = Callable[[InboundEvent], Awaitable[Taken]]
DRAIN_SECONDS = 10.0  # the longest a stop waits for the batch in hand


class SubjectSource(Protocol):
    """adapters.nats.inbound.SubjectConsumer as the worker sees it."""

    name: str

    async def poll(self, take: Take) -> int: ...

    async def close(self) -> None: ...


class InboundEventsWorker(WorkerLoop):
    def __init__(self, source: SubjectSource, take: Take, *, drain_seconds: float = DRAIN_SECONDS):
        self._source = source
        self._take = take
        self._drain = drain_seconds
        self._stopping = False
        self._in_hand = asyncio.Lock()  # held from a fetch until its batch is settled
        # The fetch itself waits for messages; after an empty one, go again almost at once.
        super().__init__(source.name, self._poll, idle_interval=0.01)

    async def _poll(self) -> int:
        if self._stopping:
            return 0
        async with self._in_hand:
            return await self._source.poll(self._take)

    async def stop(self) -> None:
        """Fetch nothing more, let the batch in hand settle (bounded), then end the loop."""
        self._stopping = True
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(self._drain), self._in_hand:
                pass
        await super().stop()
        await self._source.close()
