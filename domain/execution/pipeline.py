"""One step running in the background while the caller prepares the next, strictly in order.

The executor's stages wait on different things: planning a batch is our CPU, committing it is
the database's, publishing it is the broker's. Run one after another they leave the cores idle
much of the time (docs/performance.md); each stage handing its result to the next as a
background step keeps them all busy, and since at most one step is in flight per stage, batches
still commit and publish in order.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Coroutine
from typing import Any


class OneInFlight:
    def __init__(self) -> None:
        self._task: asyncio.Task[None] | None = None

    def start(self, step: Coroutine[Any, Any, None]) -> None:
        """Run `step` in the background; `settle` the previous one first."""
        if self._task is not None:
            step.close()
            raise RuntimeError("a step is still in flight: settle it first")
        self._task = asyncio.create_task(step)

    async def settle(self) -> None:
        """Wait for the step in flight; whatever it raised is raised here."""
        task, self._task = self._task, None
        if task is not None:
            await task

    async def abandon(self) -> None:
        """Let the step in flight end, if any, and forget its outcome (the run is failing).

        Not cancelled: a database step cut off mid-transaction left its connection open, and on
        SQLite the write lock held, for seconds after (seen in tests/engine: the executor's lease
        release then failed with "database is locked"). A step ends on its own soon enough: each
        of its waits is bounded (statement, publish and lock timeouts). Should the caller itself
        be cancelled meanwhile, the step still runs to its end in the background.
        """
        task, self._task = self._task, None
        if task is not None:
            with contextlib.suppress(Exception):
                await asyncio.shield(task)
