"""StreamCampaignMetrics on the real server (SQLite and Postgres): grpcurl follows a running
campaign's metrics from the snapshot to the final snapshot; a cancelled campaign ends its
streams; min_interval below 100 ms is INVALID_ARGUMENT naming the field; another organization's
campaign is NOT_FOUND; examples/stream_metrics.py streams through the typed stubs."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import grpc
import pytest
from campaign.v1 import campaign_pb2 as pb
from campaign.v1 import campaign_service_pb2 as svc
from campaign.v1 import metrics_pb2 as mpb
from campaign.v1 import metrics_service_pb2 as msvc
from campaign.v1 import metrics_service_pb2_grpc as msvc_grpc
from google.protobuf import duration_pb2, struct_pb2

from tests.e2e.engine_helpers import AudienceApi, contact
from tests.e2e.helpers import (
    RPC_TIMEOUT,
    CampaignApi,
    Grpcurl,
    bearer,
    email,
    mint_token,
    new_org,
)
from tests.support.server_process import ServerProcess

pytestmark = pytest.mark.e2e

RECIPIENTS = 12
METHOD = "campaign.v1.MetricsService/StreamCampaignMetrics"
EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "stream_metrics.py"


def campaign_request(name: str) -> svc.CreateCampaignRequest:
    in_stream_test = pb.Audience(
        segment_type=pb.SEGMENT_TYPE_INCLUDE,
        query=pb.SegmentQuery(
            conditions=[
                pb.Condition(
                    field="cohort",
                    operator=pb.CONDITION_OPERATOR_EQUALS,
                    value=struct_pb2.Value(string_value="streams"),
                )
            ]
        ),
    )
    return svc.CreateCampaignRequest(
        name=name,
        campaign_type=pb.CAMPAIGN_TYPE_SCHEDULED,
        audiences=[in_stream_test],
        variants=[
            pb.Variant(name="A", allocation_percentage=50, channels=[email("A")]),
            pb.Variant(name="B", allocation_percentage=50, channels=[email("B")]),
        ],
        throttle=pb.Throttle(quiet_hours=pb.QuietHours(enabled=False)),
    )


def json_messages(text: str) -> list[dict[str, Any]]:
    """grpcurl prints one JSON object per streamed message, one after the other (with the
    proto's field names)."""
    decoder, messages, at = json.JSONDecoder(), [], 0
    while (at := _skip_space(text, at)) < len(text):
        message, at = decoder.raw_decode(text, at)
        messages.append(message)
    return messages


def _skip_space(text: str, at: int) -> int:
    while at < len(text) and text[at].isspace():
        at += 1
    return at


@pytest.fixture
def streams(channel: grpc.Channel) -> msvc_grpc.MetricsServiceStub:
    return msvc_grpc.MetricsServiceStub(channel)


def stream(
    stub: msvc_grpc.MetricsServiceStub, org: str, campaign_id: str, **fields: Any
) -> Iterator[msvc.StreamCampaignMetricsResponse]:
    request = msvc.StreamCampaignMetricsRequest(campaign_id=campaign_id, **fields)
    return stub.StreamCampaignMetrics(  # type: ignore[no-any-return]
        request, metadata=bearer(mint_token(org, "user")), timeout=RPC_TIMEOUT
    )


def test_grpcurl_streams_a_running_campaigns_metrics_until_the_final_snapshot(
    api: CampaignApi, channel: grpc.Channel, org: str, grpcurl: Grpcurl
) -> None:
    audience = AudienceApi(channel, mint_token(org))
    audience.upsert(
        *(contact(f"s{i:02d}", attributes={"cohort": "streams"}) for i in range(RECIPIENTS))
    )
    campaign = api.create(campaign_request("Streamed"))
    body = {
        "campaign_id": campaign.campaign_id,
        "min_interval": "0.1s",
        "breakdowns": ["BREAKDOWN_VARIANT"],
    }
    with ThreadPoolExecutor(1) as pool:
        watching = pool.submit(grpcurl.run, METHOD, body=body, token=mint_token(org, "user"))
        api.call("SendCampaignNow", svc.SendCampaignNowRequest(campaign_id=campaign.campaign_id))
        result = watching.result()

    assert result.returncode == 0, result.output
    messages = json_messages(result.stdout)
    first, last = messages[0], messages[-1]
    assert first.get("snapshot") is True
    assert not any(m.get("snapshot") for m in messages[1:])
    assert last.get("final") is True
    assert not any(m.get("final") for m in messages[:-1])
    assert last["campaign_status"] == "CAMPAIGN_STATUS_COMPLETED"
    totals = last["totals"]  # int64 as JSON strings; zero counters left out
    assert int(totals.get("queued", 0)) == RECIPIENTS
    assert int(totals.get("sent", 0)) == RECIPIENTS
    assert int(totals.get("delivered", 0)) == RECIPIENTS
    assert last["rates"].get("delivery_rate") == 1.0
    rows = last["rows"]
    assert {row["breakdown"] for row in rows} == {"BREAKDOWN_VARIANT"}
    assert sum(int(row["totals"].get("sent", 0)) for row in rows) == RECIPIENTS


def test_a_draft_streams_its_snapshot_and_cancelling_it_ends_the_stream(
    api: CampaignApi, streams: msvc_grpc.MetricsServiceStub, org: str
) -> None:
    campaign = api.create(campaign_request("Cancelled"))
    updates = stream(
        streams, org, campaign.campaign_id, min_interval=duration_pb2.Duration(nanos=10**8)
    )
    first = next(updates)
    assert first.snapshot
    assert not first.final
    assert first.campaign_status == pb.CAMPAIGN_STATUS_DRAFT
    assert first.totals == mpb.MetricTotals()

    api.transition("CancelCampaign", campaign.campaign_id, reason="streams test")
    rest = list(updates)

    assert [(u.final, u.campaign_status) for u in rest] == [(True, pb.CAMPAIGN_STATUS_CANCELLED)]


def test_min_interval_below_100ms_is_invalid_argument_naming_the_field(
    api: CampaignApi, org: str, grpcurl: Grpcurl
) -> None:
    campaign = api.create(campaign_request("Too fast"))
    body = {"campaign_id": campaign.campaign_id, "min_interval": "0.05s"}

    result = grpcurl.run(METHOD, body=body, token=mint_token(org, "user"))

    assert result.status["code"] == grpc.StatusCode.INVALID_ARGUMENT.value[0]
    violations = result.details("google.rpc.BadRequest")[0]["field_violations"]
    assert [v["field"] for v in violations] == ["min_interval"]


def test_another_organizations_campaign_is_not_found(
    api: CampaignApi, streams: msvc_grpc.MetricsServiceStub
) -> None:
    campaign = api.create(campaign_request("Private"))
    with pytest.raises(grpc.RpcError) as caught:
        next(stream(streams, new_org(), campaign.campaign_id))
    assert caught.value.code() == grpc.StatusCode.NOT_FOUND


def test_the_python_example_streams_until_the_campaign_ends(
    api: CampaignApi, live_server: ServerProcess, org: str
) -> None:
    campaign = api.create(campaign_request("Example"))
    api.transition("CancelCampaign", campaign.campaign_id, reason="example ends at once")

    run = subprocess.run(
        [sys.executable, str(EXAMPLE), campaign.campaign_id],
        env={
            **live_server.env,
            "CAMPAIGN_GRPC_ADDRESS": live_server.address,
            "CAMPAIGN_TOKEN": mint_token(org, "user"),
        },
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert run.returncode == 0, run.stderr
    assert "snapshot" in run.stdout
    assert "final" in run.stdout
    assert "CANCELLED" in run.stdout
