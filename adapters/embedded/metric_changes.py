"""Metric change signals inside one process (the embedded default: one replica, no broker).

Both ports at once: `changed` calls every listener straight away. That is cheap (a listener only
wakes a watcher, which coalesces by itself), so nothing is batched here.
"""

from __future__ import annotations

from domain.metrics.ports import ChangeListener


class InProcessMetricChanges:
    def __init__(self) -> None:
        self._listeners: list[ChangeListener] = []

    def listen(self, listener: ChangeListener) -> None:
        self._listeners.append(listener)

    def changed(self, organization_id: str, campaign_id: str) -> None:
        for listener in self._listeners:
            listener(organization_id, campaign_id)
