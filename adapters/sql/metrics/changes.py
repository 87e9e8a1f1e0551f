"""Who the store tells that a campaign's counters changed (domain.metrics.ports.MetricChanges).

Nobody by default: the counters are still exact, a live stream just learns of a change on its
slow timer. The composition root plugs the real transport (in-process, NATS) into the store's
`ForwardedMetricChanges` whenever it has built it, even after units of work and the delivery
outbox were handed out, since they all tell the same forwarder.
"""

from __future__ import annotations

from domain.metrics.ports import MetricChanges


class NoMetricChanges:
    def changed(self, organization_id: str, campaign_id: str) -> None:
        return None


NO_METRIC_CHANGES = NoMetricChanges()


class ForwardedMetricChanges:
    def __init__(self, target: MetricChanges = NO_METRIC_CHANGES) -> None:
        self.target = target

    def changed(self, organization_id: str, campaign_id: str) -> None:
        self.target.changed(organization_id, campaign_id)
