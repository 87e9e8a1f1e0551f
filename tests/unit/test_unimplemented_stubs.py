"""`with_unimplemented` (server/servicers/unimplemented.py): a declared RPC no mixin implements
answers UNIMPLEMENTED naming itself, never the generated base's NotImplementedError (which the
error interceptor would report as INTERNAL). Every RPC of campaign.v1 is built today, so the
stubs are checked on MetricsService with its RPCs left out on purpose."""

from __future__ import annotations

from typing import Any

import grpc
import pytest
from campaign.v1 import metrics_service_pb2 as msvc
from campaign.v1 import metrics_service_pb2_grpc as msvc_grpc

from server.servicers.unimplemented import with_unimplemented

SERVICE = msvc.DESCRIPTOR.services_by_name["MetricsService"]


class Aborted(Exception):
    pass


class Context:
    """What a stub uses of grpc.aio.ServicerContext: abort."""

    code: grpc.StatusCode | None = None
    details = ""

    async def abort(self, code: grpc.StatusCode, details: str) -> None:
        self.code, self.details = code, details
        raise Aborted


async def test_a_left_out_unary_rpc_answers_unimplemented_naming_itself() -> None:
    servicer: Any = with_unimplemented(msvc_grpc.MetricsServiceServicer, SERVICE)()
    context = Context()
    with pytest.raises(Aborted):
        await servicer.GetCampaignMetrics(msvc.GetCampaignMetricsRequest(), context)
    assert context.code is grpc.StatusCode.UNIMPLEMENTED
    assert "MetricsService.GetCampaignMetrics" in context.details
    assert len(context.details.splitlines()) == 1


async def test_a_left_out_streaming_rpc_answers_unimplemented_and_implemented_ones_stay() -> None:
    base = with_unimplemented(
        msvc_grpc.MetricsServiceServicer, SERVICE, {"GetCampaignMetrics", "GetExperimentResults"}
    )
    assert "GetCampaignMetrics" not in vars(base)
    context = Context()
    with pytest.raises(Aborted):
        async for _ in base().StreamCampaignMetrics(msvc.StreamCampaignMetricsRequest(), context):
            pass
    assert context.code is grpc.StatusCode.UNIMPLEMENTED
    assert "MetricsService.StreamCampaignMetrics" in context.details
