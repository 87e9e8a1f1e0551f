"""A delayed trigger survives kill -9 (docs/triggers.md, "Delay"): the event is tracked, the server
is killed before the delay ends and again around its end, restarted each time, and the message
goes out exactly once, not before its time. The delay is kept by the message row itself (held
until `send_after`), which a killed process cannot lose; the release and the relay of whichever
process runs next pick it up.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from domain.execution.model import TRIGGERED_EXECUTION, message_id
from domain.kernel.channels import Channel
from tests.faults.conftest import Rig, eventually
from tests.faults.trigger_support import activate_triggered, seed_one, track

pytestmark = [pytest.mark.postgres, pytest.mark.nats]

DELAY = timedelta(seconds=3)


async def test_a_delayed_trigger_fires_once_at_its_time_across_kill_9(rig: Rig) -> None:
    server = await rig.start_server()
    await seed_one(rig, server, "buyer")
    campaign_id = await activate_triggered(rig, server, delay=DELAY)

    taken_at = datetime.now(UTC)
    assert await track(rig, server, "order-0", "buyer") == "accepted"
    await rig.kill(server)  # before the delay ends: the message is only a held row

    async with rig.database() as db:
        row = await db.fetchrow(
            "SELECT message_id, status, send_after FROM messages WHERE campaign_id = $1",
            campaign_id,
        )
    expected_id = message_id(f"{TRIGGERED_EXECUTION}:{campaign_id}:order-0", "buyer", Channel.EMAIL)
    assert row is not None
    assert (row["message_id"], row["status"]) == (expected_id, "held")
    assert taken_at + DELAY <= row["send_after"] <= taken_at + DELAY + timedelta(seconds=5)

    server = await rig.start_server()  # up again before its time...
    await asyncio.sleep(max(0.0, (row["send_after"] - datetime.now(UTC)).total_seconds() - 0.3))
    await rig.kill(server)  # ...killed again around it
    server = await rig.start_server()

    async def sent() -> datetime | None:
        async with rig.database() as db:
            return await db.fetchval(  # type: ignore[no-any-return]
                "SELECT sent_at FROM messages WHERE message_id = $1 AND status = 'sent'",
                expected_id,
            )

    sent_at = await eventually(sent, within=45, what="the delayed message sent", server=server)
    assert sent_at >= row["send_after"], "sent before its time"
    seen = await rig.deliveries(1)
    assert [d.msg_id for d in seen] == [expected_id]
    assert seen[0].payload["execution_id"] == ""  # a trigger's message belongs to no run
    assert await rig.stream_size() == 1
