"""A stop lets the step in progress finish instead of cancelling it inside a database call (an
interrupted connection close is logged as an error with a traceback), but never waits on a step
longer than the grace, and never sleeps out an idle interval or a backoff."""

from __future__ import annotations

import asyncio

from server.workers.loop import WorkerLoop

FOREVER = 3_600.0


async def test_a_stop_lets_the_step_in_progress_finish() -> None:
    started = asyncio.Event()
    outcomes: list[str] = []

    async def step() -> int:
        started.set()
        try:
            await asyncio.sleep(0.2)  # a transaction in progress
            outcomes.append("committed")
        except asyncio.CancelledError:
            outcomes.append("cancelled")
            raise
        return 0

    loop = WorkerLoop("test", step, idle_interval=FOREVER)
    loop.start()
    await asyncio.wait_for(started.wait(), 5)
    await loop.stop(grace=5)
    assert outcomes == ["committed"]
    assert not loop.running


async def test_a_step_longer_than_the_grace_is_cancelled() -> None:
    started = asyncio.Event()
    outcomes: list[str] = []

    async def step() -> int:
        started.set()
        try:
            await asyncio.sleep(FOREVER)
        except asyncio.CancelledError:
            outcomes.append("cancelled")
            raise
        return 0

    loop = WorkerLoop("test", step, idle_interval=FOREVER)
    loop.start()
    await asyncio.wait_for(started.wait(), 5)
    await asyncio.wait_for(loop.stop(grace=0.1), 5)
    assert outcomes == ["cancelled"]


async def test_a_stop_ends_an_idle_sleep_and_a_backoff_at_once() -> None:
    calls = 0

    async def failing() -> int:
        nonlocal calls
        calls += 1
        raise ConnectionError("the broker is down")

    idle = WorkerLoop("idle", lambda: asyncio.sleep(0, result=0), idle_interval=FOREVER)
    backing_off = WorkerLoop("backoff", failing, idle_interval=FOREVER)
    idle.start()
    backing_off.start()
    await asyncio.sleep(0.05)
    # A grace of FOREVER: a stop that waited for the sleep to end would not return in time.
    await asyncio.wait_for(asyncio.gather(idle.stop(FOREVER), backing_off.stop(FOREVER)), 5)
    assert calls == 1
