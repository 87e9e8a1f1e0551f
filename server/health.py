"""grpc.health.v1 status per service, driven by a periodic database probe: a replica whose
database is unreachable reports NOT_SERVING so load balancers route around it."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence

from grpc_health.v1 import health, health_pb2
from opentelemetry import trace

from domain.kernel.ports import HealthProbe
from server.idle_steps import DONE_ATTRIBUTE, WORKER_ATTRIBUTE

SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING
STOP_GRACE_SECONDS = 5.0
tracer = trace.get_tracer("campaign.health")


class HealthReporter:
    def __init__(self, probe: HealthProbe, services: Sequence[str], interval: float) -> None:
        self.servicer = health.aio.HealthServicer()
        self._probe = probe
        self._services = ["", *services]  # "" is the whole server
        self._interval = interval
        self._task: asyncio.Task[None] | None = None
        self._stop_requested = asyncio.Event()
        self.serving = False  # what the last probe said, for the HTTP /healthz

    async def refresh(self) -> bool:
        healthy = await self._probe.check()
        self.serving = healthy
        for name in self._services:
            await self.servicer.set(name, SERVING if healthy else NOT_SERVING)
        return healthy

    def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name="health-probe")

    async def _loop(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop_requested.wait(), self._interval)
            if self._stop_requested.is_set():
                return
            # Traced like a worker step that did something only when the probe failed: the
            # trace of a healthy probe is dropped (server/idle_steps.py).
            with tracer.start_as_current_span(
                "health probe", attributes={WORKER_ATTRIBUTE: "health-probe"}
            ) as span:
                healthy = await self.refresh()
                span.set_attribute(DONE_ATTRIBUTE, 0 if healthy else 1)

    async def stop(self) -> None:
        """Let a probe in progress finish rather than cancel it inside the database driver
        (an interrupted connection close is logged as an error)."""
        self._stop_requested.set()
        if self._task is not None:
            if not self._task.done():
                await asyncio.wait([self._task], timeout=STOP_GRACE_SECONDS)
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self.serving = False
        for name in self._services:
            await self.servicer.set(name, NOT_SERVING)
