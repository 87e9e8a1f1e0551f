"""The default places of a run's CPU work: a worker thread for planning, the caller for tracking.

Both leave the event loop answering (a thread releases it between bytecodes), but share the
process's one core with it; the server can move the same work to a process of its own
(adapters.runtime.planning_process). Either way the result is the pure functions' own.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from domain.audience.model import Recipient
from domain.execution.model import Message
from domain.execution.planning import BatchPlan, CampaignPlan, plan_batch
from domain.execution.tracked_content import tracked
from domain.execution.tracking import TrackingLinks


class ThreadPlanner:
    async def plan(self, plan: CampaignPlan, recipients: Sequence[Recipient]) -> BatchPlan:
        return await asyncio.to_thread(plan_batch, plan, recipients)


class InlineTracker:
    def __init__(self, links: TrackingLinks) -> None:
        self._links = links

    async def track(self, messages: Sequence[Message]) -> list[Message]:
        links = self._links
        return [tracked(m, links) for m in messages]
