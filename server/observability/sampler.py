"""Reads the store's figures and the NATS consumers' lag every few seconds into the gauges.

Prometheus collects synchronously and the service is asyncio, so the database is not read at
scrape time: a background task reads it (CAMPAIGN_METRICS_SAMPLE_SECONDS) and a scrape shows
the last sample (`campaign_metrics_sampled_timestamp_seconds` says when; the backlogs' ages
are computed at the scrape). A failed read is counted and logged once per outage, and the
gauges keep the last good sample meanwhile.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import UTC, datetime

import structlog

from server.observability.prometheus import ServiceMetrics
from server.observability.sources import ObservedSources

STOP_GRACE_SECONDS = 5.0
log = structlog.get_logger("campaign.metrics")


class FiguresSampler:
    def __init__(self, metrics: ServiceMetrics, sources: ObservedSources, interval: float) -> None:
        self._metrics = metrics
        self._sources = sources
        self._interval = interval
        self._task: asyncio.Task[None] | None = None
        self._stop_requested = asyncio.Event()
        self._failing: set[str] = set()

    def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name="metrics-sampler")

    async def sample_once(self) -> None:
        """One sample of every source; never raises (a failure is counted and logged)."""
        sources = self._sources
        now = datetime.now(UTC)
        try:
            figures = await sources.figures.read(now)
        except Exception as exc:
            self._failed("database", exc)
        else:
            self._metrics.show(figures, now)
            self._recovered("database")
        if sources.consumer_lag is not None:
            try:
                lag = await sources.consumer_lag()
            except Exception as exc:
                self._failed("nats", exc)
            else:
                self._metrics.show_lag(lag)
                self._recovered("nats")

    async def _loop(self) -> None:
        while not self._stop_requested.is_set():
            await self.sample_once()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop_requested.wait(), self._interval)

    async def stop(self) -> None:
        """Let a sample in progress finish rather than cancel it inside the database driver."""
        self._stop_requested.set()
        if self._task is None:
            return
        if not self._task.done():
            await asyncio.wait([self._task], timeout=STOP_GRACE_SECONDS)
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task

    def _failed(self, source: str, exc: Exception) -> None:
        self._metrics.sample_failures.labels(source=source).inc()
        if source not in self._failing:
            self._failing.add(source)
            log.warning(
                "metrics sample failed; gauges keep the last sample",
                source=source,
                cause=str(exc).splitlines()[0] if str(exc) else type(exc).__name__,
            )

    def _recovered(self, source: str) -> None:
        if source in self._failing:
            self._failing.discard(source)
            log.info("metrics sample read again", source=source)
