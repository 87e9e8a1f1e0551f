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
from collections.abc import AsyncGenerator, Coroutine, Sequence
from dataclasses import dataclass
from typing import Any

from domain.audience.model import Recipient
from domain.execution.planning import BatchPlan, CampaignPlan
from domain.execution.ports import BatchPlanner


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


class PlannedAhead:
    """A run's batches of recipients, each fetched and planned while the one before it is
    throttled and written: the planner (another process, where the server has one) and the
    audience's database work while the executor's loop does its own, instead of in turn.

    At most one batch is planned ahead, with the plan current when it was started; a batch
    whose plan was replaced meanwhile (an A/B winner was chosen) is planned again by the
    caller. Nothing is committed ahead: a run paused or cancelled at a batch boundary drops
    the batch planned for nothing, and resumes from its checkpoint as before.
    """

    def __init__(
        self,
        batches: AsyncGenerator[Sequence[Recipient], None],
        planner: BatchPlanner,
        plan: CampaignPlan,
    ) -> None:
        self._batches = batches
        self._planner = planner
        self.plan = plan  # what the next batch is planned with; the caller replaces it
        self._next: asyncio.Task[Planned | None] | None = None

    def __aiter__(self) -> PlannedAhead:
        return self

    async def __anext__(self) -> Planned:
        task = self._next or asyncio.create_task(self._fetch(self.plan))
        self._next = None
        planned = await task
        if planned is None:
            raise StopAsyncIteration
        self._next = asyncio.create_task(self._fetch(self.plan))
        return planned

    async def aclose(self) -> None:
        """Let the batch in flight end, if any (its outcome is dropped), and close the
        audience's batches. Not cancelled unless the caller itself is: a planning process cut
        off mid-batch would be restarted for nothing."""
        task, self._next = self._next, None
        if task is not None:
            try:
                await asyncio.shield(task)
            except asyncio.CancelledError:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
                raise
            except Exception:  # the batch is dropped either way
                pass
        await self._batches.aclose()

    async def _fetch(self, plan: CampaignPlan) -> Planned | None:
        try:
            recipients = await anext(self._batches)
        except StopAsyncIteration:
            return None
        return Planned(recipients, plan, await self._planner.plan(plan, recipients))


@dataclass(frozen=True, slots=True)
class Planned:
    recipients: Sequence[Recipient]
    plan: CampaignPlan  # what `batch` was planned with
    batch: BatchPlan
