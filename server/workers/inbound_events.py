"""One worker per subscribed NATS subject: fetch a batch, hand each event to the intake, settle
each message. A stop cancels a waiting fetch at once but lets the batch in hand finish settling
(bounded), so a stop never leaves a fetched batch half acknowledged."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Sequence
from typing import Protocol, TypeVar

import structlog

from domain.events.model import InboundEvent, Taken
from server.workers.loop import WorkerLoop

Take = Callable[[InboundEvent], Awaitable[Taken]]
TakeMany = Callable[[Sequence[InboundEvent]], Awaitable[list[Taken]]]
M = TypeVar("M")
DRAIN_SECONDS = 10.0  # the longest a stop waits for the batch in hand
log = structlog.get_logger("campaign.worker")


class SubjectSource(Protocol[M]):
    """adapters.nats.inbound.SubjectConsumer as the worker sees it."""

    name: str

    async def fetch(self) -> list[M]: ...

    async def settle(
        self, messages: Sequence[M], take: Take, take_many: TakeMany | None = None
    ) -> None: ...

    async def close(self) -> None: ...


class InboundEventsWorker(WorkerLoop):
    def __init__(
        self,
        source: SubjectSource[M],
        take: Take,
        take_many: TakeMany | None = None,
        *,
        drain_seconds: float = DRAIN_SECONDS,
    ) -> None:
        """`take_many` (the intake's take_batch) lets the source take a fetched batch in a few
        transactions instead of one per event."""
        self._source: SubjectSource[M] = source
        self._take = take
        self._take_many = take_many
        self._drain = drain_seconds
        self._stopping = False
        self._settling: asyncio.Task[None] | None = None
        self.taken = 0  # messages fetched and handed to `settle` (logged at the stop)
        # The fetch itself waits for messages; after an empty one, go again almost at once.
        super().__init__(source.name, self._poll, idle_interval=0.01)

    async def _poll(self) -> int:
        if self._stopping:
            return 0
        messages = await self._source.fetch()
        if not messages:
            return 0
        self.taken += len(messages)
        # Its own task, so cancelling this loop (a stop) does not cut a batch short.
        self._settling = asyncio.create_task(
            self._source.settle(messages, self._take, self._take_many), name=f"{self.name}-settle"
        )
        try:
            await asyncio.shield(self._settling)
        finally:
            if self._settling.done():
                self._settling = None
        return len(messages)

    async def stop(self, grace: float = 0.0) -> None:
        """Fetch nothing more, end the loop, let the batch in hand settle (at most
        drain_seconds; what is left then comes again after the ack wait), close."""
        self._stopping = True
        # No grace needed: the fetch in progress is only a wait, the batch in hand is shielded.
        await super().stop(grace)
        settling, self._settling = self._settling, None
        if settling is not None:
            try:
                await asyncio.wait_for(settling, self._drain)
            except TimeoutError:
                log.warning(
                    "inbound batch not settled in time; it will be redelivered", worker=self.name
                )
            except Exception as exc:  # already reported by the loop, or an outage
                log.warning("inbound batch failed while stopping", worker=self.name, error=str(exc))
        with contextlib.suppress(Exception):
            await self._source.close()
