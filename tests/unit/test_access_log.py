"""The access line of each RPC names the caller (organization, subject, peer) and, for a failed
call, its ErrorInfo reason and message; health and reflection calls are DEBUG
(server.interceptors.access_log). The interceptors' scopes run nested as gRPC runs them, on a
stand-in for the call's context."""

from __future__ import annotations

from typing import Any

import grpc
import pytest
from structlog.testing import capture_logs

from domain.kernel.errors import CampaignNotFoundError
from domain.kernel.principal import Principal, Role
from server.interceptors.access_log import AccessLogInterceptor
from server.interceptors.call_facts import note_principal
from server.interceptors.errors import ErrorMappingInterceptor

CALLER = Principal(organization_id="org-7", subject="ops-console", roles=frozenset({Role.ADMIN}))


class Aborted(Exception):
    """What grpc.aio's context.abort raises."""


class CallContext:
    """The parts of grpc.aio.ServicerContext the interceptors use."""

    def __init__(self) -> None:
        self._code: grpc.StatusCode | None = None
        self._details = ""

    def peer(self) -> str:
        return "ipv4:127.0.0.1:50123"

    def code(self) -> grpc.StatusCode | None:
        return self._code

    def details(self) -> str:
        return self._details

    async def abort(self, code: grpc.StatusCode, details: str = "", trailers: Any = ()) -> None:
        self._code, self._details = code, details
        raise Aborted(details)


async def call(method: str, handler_raises: Exception | None = None) -> list[dict[str, Any]]:
    """One call through the access log and the error mapping, authenticated as CALLER."""
    context: Any = CallContext()
    with capture_logs() as logs:
        try:
            async with (
                AccessLogInterceptor().scope(context, method),
                ErrorMappingInterceptor().scope(context, method),
            ):
                note_principal(CALLER)
                if handler_raises is not None:
                    raise handler_raises
        except Aborted:
            pass
    return [line for line in logs if line["event"] == "rpc"]


async def test_a_successful_call_names_the_caller_and_its_peer():
    [line] = await call("/campaign.v1.CampaignService/ListCampaigns")

    assert line["log_level"] == "info"
    assert line["code"] == "OK"
    assert line["organization_id"] == "org-7"
    assert line["subject"] == "ops-console"
    assert line["peer"] == "ipv4:127.0.0.1:50123"
    assert "reason" not in line
    assert line["duration_ms"] >= 0


async def test_a_failed_call_carries_its_error_info_reason_and_message():
    error = CampaignNotFoundError("c-1")

    [line] = await call("/campaign.v1.CampaignService/GetCampaign", error)

    assert line["code"] == "NOT_FOUND"
    assert line["reason"] == "CAMPAIGN_NOT_FOUND"
    assert line["message"] == error.message
    assert "c-1" in line["message"]
    assert line["organization_id"] == "org-7"


async def test_a_bug_is_internal_with_the_generic_message_and_no_reason():
    [line] = await call("/campaign.v1.CampaignService/GetCampaign", KeyError("oops"))

    assert line["code"] == "INTERNAL"
    assert line["reason"] == ""
    assert line["message"] == "internal error; see server logs"


@pytest.mark.parametrize(
    "method",
    [
        "/grpc.health.v1.Health/Check",
        "/grpc.health.v1.Health/Watch",
        "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
        "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
    ],
)
async def test_health_and_reflection_calls_are_debug(method: str):
    [line] = await call(method)

    assert line["log_level"] == "debug"
