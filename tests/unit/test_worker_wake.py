"""A woken worker calls its step again at once instead of sleeping out its idle interval: what
lets a trigger's message go out right after the event that fired it (docs/triggers.md)."""

from __future__ import annotations

import asyncio

from server.workers.loop import WorkerLoop

FOREVER = 3_600.0  # an idle interval no test waits out


async def test_a_wake_calls_the_step_again_before_the_idle_interval() -> None:
    calls = asyncio.Queue[int]()
    count = 0

    async def step() -> int:
        nonlocal count
        count += 1
        calls.put_nowait(count)
        return 0  # no work: the loop goes idle for FOREVER

    loop = WorkerLoop("test", step, idle_interval=FOREVER)
    loop.start()
    try:
        assert await asyncio.wait_for(calls.get(), 5) == 1
        loop.wake()
        assert await asyncio.wait_for(calls.get(), 5) == 2
        loop.wake()
        loop.wake()  # two wakes while idle: one more call
        assert await asyncio.wait_for(calls.get(), 5) == 3
        await asyncio.sleep(0.05)
        assert calls.empty()
    finally:
        await loop.stop()


async def test_a_wake_during_a_step_is_not_lost() -> None:
    started, release = asyncio.Event(), asyncio.Event()
    calls = 0

    async def step() -> int:
        nonlocal calls
        calls += 1
        if calls == 1:
            started.set()
            await release.wait()
        return 0

    loop = WorkerLoop("test", step, idle_interval=FOREVER)
    loop.start()
    try:
        await asyncio.wait_for(started.wait(), 5)
        loop.wake()  # work came in while the first step ran
        release.set()
        for _ in range(100):
            if calls == 2:
                break
            await asyncio.sleep(0.01)
        assert calls == 2
    finally:
        await loop.stop()
