"""A background loop that keeps calling one use case until the server stops.

Every worker (outbox relay, scheduler, executor, delivery relay) has the same needs: call again
at once while there is work, sleep when there is none, and survive any failure of a dependency
with a capped exponential backoff, because the work stays safely in the database meanwhile.

A stop lets the step in progress finish (up to `STOP_GRACE_SECONDS`) before it cancels: a step
cancelled in the middle of a transaction would make the database driver close its connection
under the cancellation, and an interrupted close is logged as an error with a traceback.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

import structlog

log = structlog.get_logger("campaign.worker")
MAX_BACKOFF_SECONDS = 30.0
STOP_GRACE_SECONDS = 5.0
PAUSE = ": pause"  # the name's end of the tasks a worker waits on between steps

Step = Callable[[], Awaitable[int | bool]]


class WorkerLoop:
    def __init__(
        self, name: str, step: Step, *, idle_interval: float, busy_threshold: int = 1
    ) -> None:
        """`step` returns how much it did; at or above `busy_threshold` it is called again at
        once, below it the loop sleeps `idle_interval`."""
        self.name = name
        self._step = step
        self._idle = idle_interval
        self._busy = busy_threshold
        self._task: asyncio.Task[None] | None = None
        self._woken = asyncio.Event()
        self._stop_requested = asyncio.Event()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=self.name)

    def wake(self) -> None:
        """Call the step again now if the loop is sleeping for want of work (work just came
        in); several wakes before it runs count as one."""
        self._woken.set()

    @property
    def running(self) -> bool:
        """Started and not stopped: a failing dependency must never end the task."""
        return self._task is not None and not self._task.done()

    async def _run(self) -> None:
        backoff = self._idle
        while not self._stop_requested.is_set():
            self._woken.clear()  # a wake from now on calls the step once more
            try:
                done = int(await self._step())
                backoff = self._idle
            except Exception as exc:  # the work stays in the database; try again later
                log.warning(
                    "worker step failed; will retry",
                    worker=self.name,
                    error=str(exc),
                    retry_in=round(backoff, 2),
                )
                await self._pause(backoff)
                backoff = min(backoff * 2, MAX_BACKOFF_SECONDS)
                continue
            if done < self._busy:
                await self._idle_sleep()

    async def _idle_sleep(self) -> None:
        await self._pause(self._idle, self._woken)

    async def _pause(self, seconds: float, woken: asyncio.Event | None = None) -> None:
        """Sleep `seconds`, or less when a stop (or, if given, a wake) comes first."""
        # Named, so that a count of the process's tasks can tell a worker's pause from a leak.
        waits = [asyncio.create_task(self._stop_requested.wait(), name=f"{self.name}{PAUSE}")]
        if woken is not None:
            waits.append(asyncio.create_task(woken.wait(), name=f"{self.name}{PAUSE}"))
        try:
            await asyncio.wait(waits, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for wait in waits:
                wait.cancel()

    async def stop(self, grace: float = STOP_GRACE_SECONDS) -> None:
        if self._task is None:
            return
        self._stop_requested.set()
        if grace > 0 and not self._task.done():
            await asyncio.wait([self._task], timeout=grace)  # neither raises nor cancels
        if not self._task.done():
            self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
