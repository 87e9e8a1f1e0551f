"""The worker loop of the direct trigger hand-over (domain.events.trigger_handover): it sleeps
until the intake's commit submits messages, then hands over everything submitted meanwhile."""

from __future__ import annotations

from collections.abc import Sequence

from domain.campaigns.campaign import Campaign
from domain.events.trigger_handover import TriggerHandOver
from domain.execution.model import Message
from server.workers.loop import WorkerLoop
from server.workers.spans import traced

TRIGGER_HANDOVER = "trigger-handover"


class TriggerHandOverLoop(WorkerLoop):
    def __init__(self, hand_over: TriggerHandOver, *, idle_interval: float) -> None:
        self._hand_over = hand_over
        super().__init__(
            TRIGGER_HANDOVER,
            traced("trigger hand-over", hand_over.run_once),
            idle_interval=idle_interval,
        )

    def submit(self, campaign: Campaign, messages: Sequence[Message]) -> bool:
        """TriggerHandler's `hand_over`: queue the messages and wake the loop."""
        taken = self._hand_over.submit(campaign, messages)
        if taken:
            self.wake()
        return taken
