"""Declared but unbuilt RPCs say so: UNIMPLEMENTED naming the RPC, never UNKNOWN or INTERNAL."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import grpc
import pytest
from campaign.v1 import (
    campaign_service_pb2,
    campaign_service_pb2_grpc,
    metrics_service_pb2,
    metrics_service_pb2_grpc,
)

from tests.e2e.helpers import RPC_TIMEOUT, bearer, mint_token

pytestmark = pytest.mark.e2e

Invoke = Callable[[grpc.Channel, Any], Any]


def unary(stub_class: type, rpc: str, request: Any) -> Invoke:
    def invoke(channel: grpc.Channel, metadata: Any) -> Any:
        return getattr(stub_class(channel), rpc)(request, metadata=metadata, timeout=RPC_TIMEOUT)

    return invoke


def server_streaming(stub_class: type, rpc: str, request: Any) -> Invoke:
    def invoke(channel: grpc.Channel, metadata: Any) -> Any:
        stream = getattr(stub_class(channel), rpc)(request, metadata=metadata, timeout=RPC_TIMEOUT)
        return list(stream)

    return invoke


def client_streaming(stub_class: type, rpc: str, requests: list[Any]) -> Invoke:
    def invoke(channel: grpc.Channel, metadata: Any) -> Any:
        call = getattr(stub_class(channel), rpc)
        return call(iter(requests), metadata=metadata, timeout=RPC_TIMEOUT)

    return invoke


UNBUILT: dict[str, Invoke] = {
    "MetricsService.StreamCampaignMetrics": server_streaming(
        metrics_service_pb2_grpc.MetricsServiceStub,
        "StreamCampaignMetrics",
        metrics_service_pb2.StreamCampaignMetricsRequest(campaign_id="c-1"),
    ),
    "MetricsService.GetExperimentResults": unary(
        metrics_service_pb2_grpc.MetricsServiceStub,
        "GetExperimentResults",
        metrics_service_pb2.GetExperimentResultsRequest(campaign_id="c-1"),
    ),
    "CampaignService.SelectWinner": unary(
        campaign_service_pb2_grpc.CampaignServiceStub,
        "SelectWinner",
        campaign_service_pb2.SelectWinnerRequest(campaign_id="c-1", variant_id="v-1"),
    ),
}


@pytest.mark.parametrize("rpc", list(UNBUILT))
def test_an_unbuilt_rpc_answers_unimplemented_naming_itself(
    channel: grpc.Channel, org: str, rpc: str
):
    with pytest.raises(grpc.RpcError) as caught:
        UNBUILT[rpc](channel, bearer(mint_token(org)))

    assert caught.value.code() == grpc.StatusCode.UNIMPLEMENTED
    assert rpc in (caught.value.details() or "")


# What each unbuilt RPC's answer names as missing (no promise of when it arrives).
MISSING = {
    "MetricsService.StreamCampaignMetrics": "metrics",
    "MetricsService.GetExperimentResults": "metrics",
    "CampaignService.SelectWinner": "A/B winner",
}


@pytest.mark.parametrize("rpc", list(UNBUILT))
def test_an_unbuilt_rpc_says_truthfully_what_is_missing(channel: grpc.Channel, org: str, rpc: str):
    with pytest.raises(grpc.RpcError) as caught:
        UNBUILT[rpc](channel, bearer(mint_token(org)))

    details = caught.value.details() or ""
    assert MISSING[rpc] in details
    assert "execution engine" not in details  # it exists; the old text had it arriving later
    assert len(details.splitlines()) == 1


def test_an_unbuilt_rpc_still_requires_a_token(channel: grpc.Channel):
    with pytest.raises(grpc.RpcError) as caught:
        UNBUILT["MetricsService.GetExperimentResults"](channel, ())

    assert caught.value.code() == grpc.StatusCode.UNAUTHENTICATED
