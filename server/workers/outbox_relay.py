"""Background task that drains the event outbox to the event bus until the server stops."""

from __future__ import annotations

from domain.kernel.outbox_relay import relay_once
from domain.kernel.ports import EventPublisher, OutboxStore
from server.workers.loop import WorkerLoop
from server.workers.spans import traced


class OutboxRelayWorker(WorkerLoop):
    def __init__(
        self,
        store: OutboxStore,
        publisher: EventPublisher,
        *,
        poll_interval: float,
        batch_size: int = 500,
    ) -> None:
        async def step() -> int:
            return await relay_once(store, publisher, limit=batch_size)

        # A full batch means more may be waiting: go again at once.
        super().__init__(
            "outbox-relay",
            traced("outbox relay", step),
            idle_interval=poll_interval,
            busy_threshold=batch_size,
        )
