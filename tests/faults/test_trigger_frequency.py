"""The per-user frequency limit of a trigger holds exactly across replicas (BR-CAM-007,
docs/triggers.md): 20 events for one user at once, 10 sent to each of two server processes
sharing one Postgres and one Redis through TrackEvents, fire exactly `frequency_limit` messages.
Without the per-(campaign, user) lock both processes would count the same committed firings and
fire too often.
"""

from __future__ import annotations

import asyncio
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import grpc
import pytest

from tests.faults.conftest import Rig
from tests.faults.trigger_support import activate_triggered, seed_one, track_call

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.nats]

LIMIT = 3
PER_PROCESS = 10


@pytest.fixture
def env_overrides(private_redis: str) -> dict[str, str]:
    return {"CAMPAIGN_REDIS_URL": private_redis}


async def test_twenty_concurrent_events_on_two_processes_fire_exactly_the_limit(rig: Rig) -> None:
    first, second = await asyncio.gather(rig.start_server(), rig.start_server())
    await seed_one(rig, first, "buyer")
    campaign_id = await activate_triggered(rig, first, frequency_limit=LIMIT)

    metadata = (("authorization", f"Bearer {await rig.token(first)}"),)
    calls = [(name, server) for name, server in (("a", first), ("b", second))] * PER_PROCESS
    start = threading.Barrier(len(calls))  # every call leaves at once

    def call(index: int) -> str:
        name, server = calls[index]
        with grpc.insecure_channel(server.address) as channel:
            grpc.channel_ready_future(channel).result(timeout=10)
            start.wait(timeout=30)
            return track_call(channel, metadata, f"{name}-{index}", "buyer")

    with ThreadPoolExecutor(len(calls)) as pool:
        outcomes = Counter(
            await asyncio.gather(
                *(
                    asyncio.get_running_loop().run_in_executor(pool, call, i)
                    for i in range(len(calls))
                )
            )
        )

    async with rig.database() as db:
        messages = await db.fetchval(
            "SELECT count(*) FROM messages WHERE campaign_id = $1 AND user_id = 'buyer'",
            campaign_id,
        )
        verdicts = dict(
            await db.fetch(
                "SELECT outcome, count(*) FROM trigger_evaluations WHERE campaign_id = $1"
                " GROUP BY outcome",
                campaign_id,
            )
        )
    assert outcomes == {"accepted": 2 * PER_PROCESS}
    assert messages == LIMIT
    assert verdicts == {"fired": LIMIT, "frequency_limit": 2 * PER_PROCESS - LIMIT}
