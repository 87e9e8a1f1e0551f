"""One process taking inbound events through the server's own wiring (build_ports,
event_handlers, EventIntake): what each replica does with an event its TrackEvents or NATS door
received. The frequency test starts two of these at once on one Postgres and one Redis.

    python -m tests.faults.trigger_intake ORG USER EVENT_PREFIX COUNT START_AT_EPOCH

Prints one JSON list: each event's outcome, or the error it raised.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from datetime import UTC, datetime

from domain.events.intake import EventIntake
from domain.events.model import InboundEvent
from server.composition.closers import Closers
from server.composition.events import event_handlers
from server.composition.factories import build_ports
from server.settings import Settings


async def main(
    organization_id: str, user_id: str, prefix: str, count: int, start_at: float
) -> None:
    settings = Settings()
    closers = Closers()
    ports = await build_ports(settings, closers)
    try:
        intake = EventIntake(ports.unit_of_work, event_handlers(settings, ports), ports.clock)
        events = [
            InboundEvent(
                organization_id,
                f"{prefix}-{n}",
                "order.completed",
                datetime.now(UTC),
                user_id,
                {"total": 80},
            )
            for n in range(count)
        ]
        await asyncio.sleep(max(0.0, start_at - time.time()))
        taken = await asyncio.gather(*(intake.take(e) for e in events), return_exceptions=True)
        print(
            json.dumps(
                [t.outcome.value if not isinstance(t, BaseException) else repr(t) for t in taken]
            )
        )
    finally:
        await closers.close_all()


if __name__ == "__main__":
    org, user, prefix, count, start = sys.argv[1:6]
    asyncio.run(main(org, user, prefix, int(count), float(start)))
