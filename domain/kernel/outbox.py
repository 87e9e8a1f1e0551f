"""Writing recorded events to the outbox of the transaction that commits their change.

The one place where a `PendingEvent` gets its id and its time: stamped when the change is saved,
not when it was decided, and in the order the aggregate recorded them.
"""

from __future__ import annotations

from collections.abc import Sequence

from domain.kernel.events import DomainEvent, PendingEvent
from domain.kernel.ports import Clock, IdGenerator, Outbox


async def record(
    outbox: Outbox, pending: Sequence[PendingEvent], ids: IdGenerator, clock: Clock
) -> None:
    """Stamp each event with a new id and the time now and add them to `outbox` (nothing for
    a change that tells no one, such as a campaign starting a run)."""
    if pending:
        await outbox.add(stamped(pending, ids, clock))


def stamped(pending: Sequence[PendingEvent], ids: IdGenerator, clock: Clock) -> list[DomainEvent]:
    """Each event with a new id and the time now, for a store that writes them itself."""
    return [event.stamp(ids.new_id(), clock.now()) for event in pending]
