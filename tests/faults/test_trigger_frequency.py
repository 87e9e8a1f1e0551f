"""The per-user frequency limit of a trigger holds exactly across replicas (BR-CAM-007,
docs/triggers.md): 20 events for one user at once, 10 taken by each of two processes sharing one
Postgres and one Redis, fire exactly `frequency_limit` messages. Each process takes its events
through the server's own wiring (tests/faults/trigger_intake.py); without the per-(campaign,
user) lock both would count the same committed firings and fire too often.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from tests.faults.conftest import Rig
from tests.faults.trigger_support import activate_triggered, seed_one

pytestmark = [pytest.mark.postgres, pytest.mark.redis]

LIMIT = 3
PER_PROCESS = 10
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def env_overrides(private_redis: str) -> dict[str, str]:
    return {"CAMPAIGN_REDIS_URL": private_redis}


async def test_twenty_concurrent_events_on_two_processes_fire_exactly_the_limit(rig: Rig) -> None:
    server = await rig.start_server()  # the API, to create the campaign as a client would
    await seed_one(rig, server, "buyer")
    campaign_id = await activate_triggered(rig, server, frequency_limit=LIMIT)
    start_at = time.time() + 3.0  # both processes are up by then, and start together

    def take(prefix: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [
                sys.executable,
                "-m",
                "tests.faults.trigger_intake",
                rig.org,
                "buyer",
                prefix,
                str(PER_PROCESS),
                str(start_at),
            ],
            env=rig.env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    results = await asyncio.gather(asyncio.to_thread(take, "a"), asyncio.to_thread(take, "b"))
    outcomes: Counter[str] = Counter()
    for result in results:
        assert result.returncode == 0, result.stderr[-3000:]
        outcomes.update(json.loads(result.stdout.strip().splitlines()[-1]))

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
    fired = verdicts.get("fired", 0) + verdicts.get("deferred", 0)
    assert (fired, verdicts.get("frequency_limit", 0)) == (LIMIT, 2 * PER_PROCESS - LIMIT)
