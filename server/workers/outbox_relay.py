"""Background task that drains the outbox to the event bus until the server stops."""

from __future__ import annotations

import asyncio
import contextlib

import structlog

from domain.outbox_relay import relay_once
from domain.ports import EventPublisher, OutboxStore

log = structlog.get_logger("campaign.outbox")
MAX_BACKOFF_SECONDS = 30.0


class OutboxRelayWorker:
    def __init__(
        self,
        store: OutboxStore,
        publisher: EventPublisher,
        *,
        poll_interval: float,
        batch_size: int = 500,
    ) -> None:
        self._store = store
        self._publisher = publisher
        self._poll = poll_interval
        self._batch = batch_size
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="outbox-relay")

    async def _run(self) -> None:
        backoff = self._poll
        while True:
            try:
                published = await relay_once(self._store, self._publisher, limit=self._batch)
                backoff = self._poll
            except Exception as exc:  # keep relaying after any failure; events stay pending
                log.warning("outbox relay failed; will retry", error=str(exc), retry_in=backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, MAX_BACKOFF_SECONDS)
                continue
            if published < self._batch:
                await asyncio.sleep(self._poll)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
