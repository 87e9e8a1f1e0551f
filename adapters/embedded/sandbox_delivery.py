"""Sandbox delivery for the embedded default: nothing leaves the machine.

Every handed-over message is recorded and reported delivered at once, so a campaign can be run
end to end on a laptop and its messages inspected through ListMessages and GetMessage.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence

from domain.execution.model import Message, MessageStatus

RECENT = 10_000


class SandboxDelivery:
    def __init__(self, keep: int = RECENT) -> None:
        self.recent: deque[Message] = deque(maxlen=keep)
        self.delivered = 0

    @property
    def handed_over_status(self) -> MessageStatus:
        return MessageStatus.DELIVERED

    async def publish(self, messages: Sequence[Message]) -> None:
        self.recent.extend(messages)
        self.delivered += len(messages)
