"""The live metric streams' hub (domain.metrics.streams) on the chosen ports: the ledger the
streams read, the campaigns store they read the status from, and the change signals they wake
on."""

from __future__ import annotations

import structlog

from domain.metrics.ports import MetricLedger
from domain.metrics.streams import LiveMetrics
from server.composition.factories import Ports

log = structlog.get_logger("campaign.metrics")


def _read_failed(exc: Exception) -> None:
    log.warning("live metrics read failed; retried at the next change or refresh", error=repr(exc))


def live_metrics(ports: Ports, ledger: MetricLedger) -> LiveMetrics:
    return LiveMetrics(ledger, ports.unit_of_work, ports.metric_feed, on_error=_read_failed)
