"""One structured log line per RPC: method, final status code, duration, the caller
(organization, subject, peer) and, for a failure, its ErrorInfo reason and message.

Health probes and reflection (grpcurl's `list`) come every few seconds from machines: their
lines are DEBUG, so they only show when asked for.

When the line's level is filtered out (CAMPAIGN_LOG_LEVEL=WARNING), nothing is timed or gathered:
the call costs one level check.

What the call's context knows (its peer, its status details) is read while the call is alive:
grpc.aio's `peer()` on a call the client already tore down (a cancelled stream) reads freed
memory in the C core and crashes the process with a segmentation fault.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import grpc
import structlog

from server.interceptors.call_facts import CallFacts, call_facts
from server.interceptors.wrapping import ScopeInterceptor

log = structlog.get_logger("campaign.access")
MACHINE_CALLS = ("/grpc.health.v1.Health/", "/grpc.reflection.")


class AccessLogInterceptor(ScopeInterceptor):
    def applies_to(self, method: str) -> bool:
        """Decided once per method (wrapping.InterceptorPipeline): a level filtered out at
        start costs the calls nothing at all."""
        return bool(log.is_enabled_for(_level_of(method)))

    @asynccontextmanager
    async def scope(self, context: grpc.aio.ServicerContext, method: str) -> AsyncIterator[None]:
        level = _level_of(method)
        if not log.is_enabled_for(level):
            yield
            return
        started = time.perf_counter()
        code = "OK"
        peer = _peer(context)  # now, while the call is alive (see above)
        with call_facts() as facts:
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
                log.log(
                    level,
                    "rpc",
                    method=method,
                    code=code,
                    duration_ms=round((time.perf_counter() - started) * 1000, 2),
                    **access_fields(context, facts, peer=peer, code=code),
                )


def _level_of(method: str) -> int:
    return logging.DEBUG if method.startswith(MACHINE_CALLS) else logging.INFO


def access_fields(
    context: grpc.aio.ServicerContext, facts: CallFacts, *, peer: str, code: str
) -> dict[str, Any]:
    """The caller and, for a failed call, why: what an operator filters and greps by."""
    fields: dict[str, Any] = {"peer": peer}
    if facts.principal is not None:
        fields["organization_id"] = facts.principal.organization_id
        fields["subject"] = facts.principal.subject
    if code != "OK":
        fields["reason"] = facts.error_reason
        # A cancelled call is gone: its context is not read again (see above).
        details = "" if code == "CANCELLED" else _details(context)
        fields["message"] = facts.error_message or details
    return fields


def _peer(context: grpc.aio.ServicerContext) -> str:
    try:
        return str(context.peer())
    except Exception:  # a call torn down before it was logged: no peer left to name
        return ""


def _details(context: grpc.aio.ServicerContext) -> str:
    """The status message of a call aborted outside the error mapping (UNIMPLEMENTED...)."""
    try:
        return str(context.details() or "")
    except Exception:
        return ""
