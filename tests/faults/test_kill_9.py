"""kill -9 at random points of a 20,000-recipient execution, over and over, restarting each time:
in the end every eligible recipient has exactly one message, and JetStream holds each once.

Batches of 100 (~180 of them) make the fan-out last ~20 s, and a campaign throttle spreads the
sends over ~45 s, so every kill lands in the middle of the run: about half while batches are being
written, the rest while the relay hands messages over (sometimes between its publish and its
mark). With batches of 500 the fan-out is over in ~4 s and only one or two kills hit it. The
throttle lives in Redis (a private redis-server), as with several replicas: an in-process limiter
would forget its reservations at each kill and let the run end early, after fewer kills.
"""

from __future__ import annotations

import asyncio
import random
import time

import pytest

from tests.faults.conftest import (
    Progress,
    Rig,
    assert_each_batch_committed_once,
    assert_ran_exactly_once,
    expected_recipients,
)

pytestmark = [pytest.mark.postgres, pytest.mark.nats, pytest.mark.redis]

SIZE = 20_000
BATCH = 100  # CAMPAIGN_EXECUTOR_BATCH_SIZE: ~180 batches after the audience filter
PER_MINUTE = 20_000  # ~14,500 messages spread over ~45 s
MIN_KILLS = 10
KILLING_FOR = 150.0  # seconds; a run that is still going by then is stuck


@pytest.fixture
def env_overrides(private_redis: str) -> dict[str, str]:
    return {"CAMPAIGN_REDIS_URL": private_redis, "CAMPAIGN_EXECUTOR_BATCH_SIZE": str(BATCH)}


async def test_kill_9_at_random_points_of_a_run_loses_and_repeats_nothing(
    rig: Rig, report: list[str]
) -> None:
    seed = random.randrange(2**32)
    rng = random.Random(seed)
    report.append(f"kill -9 schedule seed: {seed}")
    server = await rig.start_server()
    await rig.seed(server, SIZE)
    campaign_id = await rig.launch(server, lead=1.0, per_minute=PER_MINUTE)
    expected = expected_recipients(SIZE, campaign_id)

    kills: list[Progress] = []  # what the database held right after each kill
    deadline = time.monotonic() + KILLING_FOR
    while True:
        await asyncio.sleep(rng.uniform(0.2, 2.0))
        assert server.process.poll() is None, f"the server died by itself:\n{server.log[-4000:]}"
        if (await rig.progress(campaign_id)).status == "completed":
            break
        await rig.kill(server)
        kills.append(await rig.progress(campaign_id))
        server = await rig.start_server()
        assert time.monotonic() < deadline, f"still running after {len(kills)} kills"

    history = await rig.history(campaign_id)
    cursors = [c.at_cursor for c in history if c.kind == "batch"]
    taken_over = [c for c in history if c.kind == "lease" and c.previous_owner]
    resumed = [c for c in taken_over if not c.fanned_out and c.at_cursor]
    report += [
        f"{len(kills)} kills before the execution completed:",
        *(f"  kill {i}: {k}" for i, k in enumerate(kills, 1)),
        f"{len(cursors)} batches committed by"
        f" {len({c.owner for c in history if c.kind == 'batch'})} processes;"
        f" {len(taken_over)} leases taken over from a killed process",
        f"{len(resumed)} fan-outs resumed after batch "
        + ", ".join(str(cursors.index(c.at_cursor) + 1) for c in resumed),
        f"{sum(1 for k in kills if k.fanned_out and k.queued)} kills mid delivery",
        f"failed worker steps: {dict(rig.failed_steps().most_common(5))}",
    ]
    mid_run = [k for k in kills if k.status in ("pending", "running")]
    assert len(mid_run) >= MIN_KILLS, (
        f"only {len(mid_run)} kills landed mid-run; the run must last longer\n" + "\n".join(report)
    )
    assert resumed, "no kill landed while batches were being written\n" + "\n".join(report)
    assert all(k.written <= len(expected) for k in kills)

    execution = await assert_ran_exactly_once(rig, server, campaign_id, SIZE)
    assert_each_batch_committed_once(history, execution.audience_size, BATCH)
