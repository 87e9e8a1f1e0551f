"""MetricsService.GetCampaignMetrics on the real server (SQLite and Postgres): after a run, the
counters equal what ListMessages shows, per variant, channel and segment, for the campaign and
for its execution; a notification report moves them; through typed stubs and grpcurl alike
(checked at the end of the run of tests/e2e/test_send_now.py). Requests are checked
(campaign_id required, UNSPECIFIED breakdowns rejected, repeats folded) and another
organization's campaign, or an execution of another campaign, is NOT_FOUND."""

from __future__ import annotations

import grpc
import pytest
from campaign.v1 import metrics_pb2 as mpb

from tests.e2e.engine_helpers import AudienceApi
from tests.e2e.helpers import CampaignApi, Grpcurl, mint_token, new_org
from tests.e2e.metrics_helpers import GET, MetricsApi
from tests.e2e.test_send_now import ab_request, seed, send_now

pytestmark = pytest.mark.e2e


def test_metrics_requests_are_checked_and_scoped_to_the_callers_campaign(
    channel: grpc.Channel, org: str, api: CampaignApi, grpcurl: Grpcurl
) -> None:
    seed(AudienceApi(channel, mint_token(org)))
    campaign = api.create(ab_request("Metrics"))
    execution_id = send_now(api, campaign.campaign_id).execution.execution_id
    metrics = MetricsApi(channel, org)
    B = mpb

    missing = metrics.fails("", "", B.BREAKDOWN_UNSPECIFIED, 99)
    assert missing.code == grpc.StatusCode.INVALID_ARGUMENT
    assert missing.fields == ["campaign_id", "breakdowns[0]", "breakdowns[1]"]
    other = api.create(ab_request("Another"))
    assert metrics.fails(other.campaign_id, execution_id).code == grpc.StatusCode.NOT_FOUND
    assert metrics.fails(campaign.campaign_id, "no-such-run").code == grpc.StatusCode.NOT_FOUND
    assert metrics.get(other.campaign_id).totals.queued == 0  # a campaign never run: zeros
    stranger = MetricsApi(channel, new_org())
    assert stranger.fails(campaign.campaign_id).code == grpc.StatusCode.NOT_FOUND
    assert stranger.fails(campaign.campaign_id, execution_id).code == grpc.StatusCode.NOT_FOUND
    rejected = grpcurl.run(GET, body={"campaign_id": ""}, token=mint_token(org))
    assert rejected.status["code"] == grpc.StatusCode.INVALID_ARGUMENT.value[0]
    [bad_request] = rejected.details("google.rpc.BadRequest")
    assert [v["field"] for v in bad_request["field_violations"]] == ["campaign_id"]
