"""StreamCampaignMetrics on the real server (SQLite and Postgres): grpcurl follows a running
campaign's metrics from the snapshot to the final snapshot, whose counters are the run's;
`campaign-service watch` draws the completed campaign and exits; a cancelled campaign ends its
streams; min_interval below 100 ms is INVALID_ARGUMENT naming the field; another organization's
campaign is NOT_FOUND; examples/stream_metrics.py streams through the typed stubs."""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
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
    GrpcurlResult,
    bearer,
    email,
    mint_token,
    new_org,
)
from tests.support.server_process import ServerProcess, run_cli

pytestmark = pytest.mark.e2e

RECIPIENTS = 12
CANCELLED_AT_ONCE = 200
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


@dataclass(frozen=True)
class Streamed:
    org: str
    campaign_id: str
    grpcurl: GrpcurlResult


@pytest.fixture(scope="module")
def streamed(server: ServerProcess, shared_channel: grpc.Channel) -> Streamed:
    """A campaign of RECIPIENTS run to completion while grpcurl streamed its metrics (once per
    backend, for the tests of this module that look at a completed campaign)."""
    org = new_org()
    AudienceApi(shared_channel, mint_token(org)).upsert(
        *(contact(f"s{i:02d}", attributes={"cohort": "streams"}) for i in range(RECIPIENTS))
    )
    api = CampaignApi(shared_channel, mint_token(org))
    campaign = api.create(campaign_request("Streamed"))
    body = {
        "campaign_id": campaign.campaign_id,
        "min_interval": "0.1s",
        "breakdowns": ["BREAKDOWN_VARIANT"],
    }
    with ThreadPoolExecutor(1) as pool:
        watching = pool.submit(
            Grpcurl(server.address).run, METHOD, body=body, token=mint_token(org, "user")
        )
        api.call("SendCampaignNow", svc.SendCampaignNowRequest(campaign_id=campaign.campaign_id))
        return Streamed(org, campaign.campaign_id, watching.result())


def test_grpcurl_streams_a_running_campaign_from_the_snapshot_to_the_final_snapshot(
    streamed: Streamed,
) -> None:
    result = streamed.grpcurl
    assert result.returncode == 0, result.output
    messages = json_messages(result.stdout)
    assert messages[0].get("snapshot") is True
    assert not any(m.get("snapshot") for m in messages[1:])
    last = messages[-1]
    assert last.get("final") is True
    assert not any(m.get("final") for m in messages[:-1])
    assert last["campaign_status"] == "CAMPAIGN_STATUS_COMPLETED"


def test_the_final_snapshot_counts_every_message_of_the_run(streamed: Streamed) -> None:
    last = json_messages(streamed.grpcurl.stdout)[-1]
    totals = last["totals"]  # int64 as JSON strings; zero counters left out
    assert int(totals.get("queued", 0)) == RECIPIENTS
    assert int(totals.get("sent", 0)) == RECIPIENTS
    assert int(totals.get("delivered", 0)) == RECIPIENTS
    assert last["rates"].get("delivery_rate") == 1.0
    rows = last["rows"]
    assert {row["breakdown"] for row in rows} == {"BREAKDOWN_VARIANT"}
    assert sum(int(row["totals"].get("sent", 0)) for row in rows) == RECIPIENTS


# Client-side tests: the backend changes nothing they look at, so the embedded server only.
CLIENT_SIDE = pytest.mark.parametrize("server", ["sqlite"], indirect=True)


@CLIENT_SIDE
def test_watch_renders_a_completed_campaign_and_exits(
    streamed: Streamed, live_server: ServerProcess
) -> None:
    run = run_cli(
        {**live_server.env, "COLUMNS": "120"},
        "watch",
        streamed.campaign_id,
        "--address",
        live_server.address,
        "--token",
        mint_token(streamed.org, "user"),
    )

    assert run.returncode == 0, run.stderr + run.stdout
    screen = run.stdout
    assert "COMPLETED" in screen
    assert "final snapshot" in screen
    for stage in ("audience", "sent", "delivered", "opened", "clicked", "converted"):
        assert stage in screen
    audience_row = next(line for line in screen.splitlines() if "│ audience " in line)
    assert str(RECIPIENTS) in audience_row, screen  # from the run (ListExecutions)
    assert "Variants" in screen


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


@CLIENT_SIDE
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


def test_streams_their_clients_cancel_at_once_leave_the_server_serving(
    api: CampaignApi,
    streams: msvc_grpc.MetricsServiceStub,
    channel: grpc.Channel,
    org: str,
    live_server: ServerProcess,
) -> None:
    """A dashboard closed as it opens, or a request that is no request: the call is torn down
    while the server still handles it. The access line must not read the dead call's context
    (grpc.aio's peer() of a torn-down call crashed the process with a segmentation fault, seen
    under load in the fuzz test; this is the same pattern, many times)."""
    campaign = api.create(campaign_request("Closed at once"))
    for _ in range(CANCELLED_AT_ONCE):
        stream(streams, org, campaign.campaign_id).cancel()
    # Bytes that are no StreamCampaignMetricsRequest: the call fails before any handler runs.
    garbage = channel.unary_stream(
        "/campaign.v1.MetricsService/StreamCampaignMetrics",
        request_serializer=None,
        response_deserializer=None,
    )
    for _ in range(CANCELLED_AT_ONCE):
        with contextlib.suppress(grpc.RpcError):
            list(garbage(b"\xff\xff\xff", metadata=bearer(mint_token(org)), timeout=RPC_TIMEOUT))
    updates = stream(streams, org, campaign.campaign_id)
    assert next(updates).snapshot
    updates.cancel()
    assert live_server.process.poll() is None, live_server.log[-3000:]
