"""One structured log line per RPC: method, final status code and duration."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import grpc
import structlog

from server.interceptors.wrapping import ScopeInterceptor

log = structlog.get_logger("campaign.access")


class AccessLogInterceptor(ScopeInterceptor):
    def applies_to(self, method: str) -> bool:
        return not method.startswith("/grpc.health.v1.Health/")

    @asynccontextmanager
    async def scope(self, context: grpc.aio.ServicerContext, method: str) -> AsyncIterator[None]:
        started = time.perf_counter()
        code = "OK"
        try:
            yield
        except asyncio.CancelledError:
            # The client went away (a closed dashboard, a deadline): not an unknown failure.
            code = "CANCELLED"
            raise
        except BaseException:
            code_value = context.code()
            code = code_value.name if isinstance(code_value, grpc.StatusCode) else "UNKNOWN"
            raise
        finally:
            log.info(
                "rpc",
                method=method,
                code=code,
                duration_ms=round((time.perf_counter() - started) * 1000, 2),
            )
