"""Handing queued messages to the notification service: publish, then mark.

The mark happens only after the broker acknowledged the batch. A crash in between leaves the
rows queued; the next relay publishes them again with the same message ids and JetStream drops
the repeats (Nats-Msg-Id), so the notification service sees each message once.
"""

from __future__ import annotations

from domain.execution.ports import DeliveryOutbox, DeliveryPublisher
from domain.kernel.ports import Clock

DEFAULT_BATCH = 5_000


async def deliver_once(
    outbox: DeliveryOutbox,
    publisher: DeliveryPublisher,
    clock: Clock,
    *,
    limit: int = DEFAULT_BATCH,
) -> int:
    """Publish one batch of due messages; returns how many were handed over."""
    async with outbox.claim_due(clock.now(), limit) as batch:
        if not batch.messages:
            return 0
        await publisher.publish(batch.messages)
        await batch.mark_handed_over(publisher.handed_over_status)
        handed = batch.messages
    await publisher.handed_over(handed)  # after the commit: the claim's locks are gone
    return len(handed)
