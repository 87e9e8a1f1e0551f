"""Moving committed events from the outbox to the event bus, at least once.

A batch is marked published only after the bus accepted it; a crash in between republishes the
batch, and the bus drops the repeats by event id (JetStream's Nats-Msg-Id window), so subscribers
see each event once.
"""

from __future__ import annotations

from domain.kernel.ports import EventPublisher, OutboxStore


async def relay_once(store: OutboxStore, publisher: EventPublisher, *, limit: int = 500) -> int:
    """Publish one batch of pending events; returns how many were published."""
    async with store.claim(limit) as batch:
        if not batch.events:
            return 0
        await publisher.publish(batch.events)
        await batch.mark_published()
        return len(batch.events)
