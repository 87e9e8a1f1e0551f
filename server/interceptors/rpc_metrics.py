"""Counts every gRPC call and times it, by method and final status code (Prometheus).

The method label is the full method name (`/campaign.v1.CampaignService/GetCampaign`) of a
method the server registered, a fixed set; a call to any other method (answered UNIMPLEMENTED
by gRPC before any handler runs) counts as `unknown`, so no caller can grow the label set.

The labelled children are looked up once per (method, code) and kept: `labels()` validates and
hashes its arguments under a lock on every call, a visible share of a GetCampaign's CPU
(docs/performance.md, "Where a Get's CPU goes").
"""

from __future__ import annotations

import asyncio
import time
from types import TracebackType

import grpc
from prometheus_client import Counter, Histogram

from server.interceptors.wrapping import ScopeInterceptor
from server.observability.prometheus import ServiceMetrics

UNKNOWN = "unknown"


class RpcMetricsInterceptor(ScopeInterceptor):
    def __init__(self, metrics: ServiceMetrics) -> None:
        super().__init__()
        self._m = metrics
        self._started: dict[str, Counter] = {}
        self._finished: dict[tuple[str, str], tuple[Counter, Histogram]] = {}

    def _count_start(self, method: str) -> None:
        child = self._started.get(method)
        if child is None:
            child = self._started[method] = self._m.rpc_started.labels(method=method)
        child.inc()

    def _count_end(self, method: str, code: str, seconds: float) -> None:
        children = self._finished.get((method, code))
        if children is None:
            children = self._finished[method, code] = (
                self._m.rpc_handled.labels(method=method, code=code),
                self._m.rpc_seconds.labels(method=method, code=code),
            )
        children[0].inc()
        children[1].observe(seconds)

    def unknown_method(self) -> None:
        self._count_start(UNKNOWN)
        self._m.rpc_handled.labels(method=UNKNOWN, code="UNIMPLEMENTED").inc()

    def scope(self, context: grpc.aio.ServicerContext, method: str) -> _Timed:
        return _Timed(self, context, method)


class _Timed:
    """One call counted and timed (a class, not a generator: entered on every call)."""

    __slots__ = ("_context", "_method", "_metrics", "_started")

    def __init__(
        self, metrics: RpcMetricsInterceptor, context: grpc.aio.ServicerContext, method: str
    ) -> None:
        self._metrics, self._context, self._method = metrics, context, method

    async def __aenter__(self) -> None:
        self._metrics._count_start(self._method)
        self._started = time.perf_counter()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc is None:
            code = _code_of(self._context, default="OK")
        elif isinstance(exc, asyncio.CancelledError):
            code = "CANCELLED"  # the client went away, or its deadline passed
        else:
            code = _code_of(self._context, default="UNKNOWN")
        self._metrics._count_end(self._method, code, time.perf_counter() - self._started)


def _code_of(context: grpc.aio.ServicerContext, *, default: str) -> str:
    code = context.code()
    return code.name if isinstance(code, grpc.StatusCode) else default
