"""Two server processes on one database and one broker (two schedulers, two executors, two
delivery relays): one execution for the firing, no recipient twice, each message once on the
stream.

Left alone, one executor would write every batch and the other would only poll. So the one
writing batches is frozen (SIGSTOP, like a long GC pause or a stalled VM) for longer than its
lease: the other takes the execution over mid fan-out, and the frozen one wakes up in the middle
of a batch it must no longer commit.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections import Counter

import pytest

from tests.faults.conftest import (
    Rig,
    assert_each_batch_committed_once,
    assert_ran_exactly_once,
)
from tests.support.server_process import ServerProcess

pytestmark = [pytest.mark.postgres, pytest.mark.nats]

SIZE = 12_000
BATCH = 25  # ~430 batches: a fan-out long enough to freeze its executor in the middle
LEASE = 0.5  # seconds
PER_MINUTE = 40_000  # ~8,700 messages spread over ~13 s
PROBE = 0.4  # a frozen executor commits nothing for this long; a working one does
RUNNING_FOR = 120.0


@pytest.fixture
def env_overrides() -> dict[str, str]:
    return {
        "CAMPAIGN_EXECUTOR_BATCH_SIZE": str(BATCH),
        "CAMPAIGN_EXECUTOR_LEASE_SECONDS": str(LEASE),
    }


def freeze(server: ServerProcess) -> None:
    os.kill(server.process.pid, signal.SIGSTOP)


def thaw(server: ServerProcess) -> None:
    if server.process.poll() is None:
        os.kill(server.process.pid, signal.SIGCONT)


async def test_two_processes_on_one_database_send_each_recipient_once(
    rig: Rig, report: list[str]
) -> None:
    processes = [await rig.start_server(), await rig.start_server()]
    await rig.seed(processes[0], SIZE)
    campaign_id = await rig.launch(processes[1], lead=1.0, per_minute=PER_MINUTE)

    async def takeovers() -> int:
        """Leases taken mid fan-out from an executor that never gave its lease back."""
        history = await rig.history(campaign_id)
        return sum(
            1 for c in history if c.kind == "lease" and c.previous_owner and not c.fanned_out
        )

    async def freeze_the_batch_writer() -> bool:
        """Freeze whichever process is writing batches until the other one takes over; False
        if the fan-out ended first."""
        for candidate in processes:
            before = await rig.progress(campaign_id)
            freeze(candidate)
            await asyncio.sleep(PROBE)
            after = await rig.progress(campaign_id)
            if after.fanned_out:
                thaw(candidate)
                return False
            if after.cursor == before.cursor:
                break  # the cursor stopped: the candidate is the writer
            thaw(candidate)
        else:
            return False
        seen, cursor = await takeovers(), after.cursor
        try:
            for _ in range(10):
                await asyncio.sleep(LEASE * 3)
                if await takeovers() > seen:
                    return True
                now = await rig.progress(campaign_id)
                if now.fanned_out or now.cursor != cursor:
                    return False  # the frozen one was not the writer after all
                # Frozen inside its batch transaction, it still locks the execution row, which
                # nobody can lease then: let it commit that batch, and freeze it again.
                thaw(candidate)
                await asyncio.sleep(0.02)
                freeze(candidate)
                cursor = (await rig.progress(campaign_id)).cursor
            return False
        finally:
            thaw(candidate)

    freezes = 0
    deadline = time.monotonic() + RUNNING_FOR
    try:
        while (progress := await rig.progress(campaign_id)).status != "completed":
            assert time.monotonic() < deadline, f"not completed in {RUNNING_FOR} s: {progress}"
            for server in processes:
                assert server.process.poll() is None, f"a server died:\n{server.log[-4000:]}"
            if progress.status == "running" and not progress.fanned_out and progress.cursor:
                freezes += await freeze_the_batch_writer()
            await asyncio.sleep(0.1)
    finally:
        for server in processes:
            thaw(server)

    history = await rig.history(campaign_id)
    leases = [c for c in history if c.kind == "lease"]
    batches = Counter(c.owner for c in history if c.kind == "batch")
    report += [
        f"{freezes} batch writers frozen mid fan-out and taken over",
        f"{len(leases)} leases by {len({c.owner for c in leases})} executors",
        f"batches committed per executor: {dict(batches)}",
        f"failed worker steps: {dict(rig.failed_steps().most_common(5))}",
    ]
    assert freezes >= 1, "no executor was taken over mid fan-out\n" + "\n".join(report)
    assert len(batches) == 2, "both executors should have written batches\n" + "\n".join(report)
    execution = await assert_ran_exactly_once(rig, processes[0], campaign_id, SIZE)
    assert_each_batch_committed_once(history, execution.audience_size, BATCH)
