"""What the GetCampaignMetrics e2e checks share: a MetricsService client, and the check of a
delivered run's counters, which tests/e2e/test_send_now.py runs at the end of its run (the suite
pays for one run, not two)."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from typing import Any

import grpc
import pytest
from campaign.v1 import campaign_service_pb2 as svc
from campaign.v1 import execution_pb2 as xpb
from campaign.v1 import metrics_pb2 as mpb
from campaign.v1 import metrics_service_pb2 as msvc
from campaign.v1 import metrics_service_pb2_grpc as msvc_grpc

from tests.e2e.engine_helpers import eventually
from tests.e2e.helpers import RPC_TIMEOUT, CampaignApi, Grpcurl, RpcFailure, bearer, mint_token
from tests.e2e.test_message_feedback import report
from tests.e2e.test_track_events import Events, summary

RUN_TIMEOUT = 60.0
GET = "campaign.v1.MetricsService/GetCampaignMetrics"


class MetricsApi:
    def __init__(self, channel: grpc.Channel, org: str, role: str = "admin") -> None:
        self.stub = msvc_grpc.MetricsServiceStub(channel)
        self.metadata = bearer(mint_token(org, role))

    def get(self, campaign_id: str, execution_id: str = "", *breakdowns: int) -> Any:
        return self.stub.GetCampaignMetrics(
            msvc.GetCampaignMetricsRequest(
                campaign_id=campaign_id, execution_id=execution_id, breakdowns=list(breakdowns)
            ),
            metadata=self.metadata,
            timeout=RPC_TIMEOUT,
        )

    def fails(self, campaign_id: str, execution_id: str = "", *breakdowns: int) -> RpcFailure:
        with pytest.raises(grpc.RpcError) as caught:
            self.get(campaign_id, execution_id, *breakdowns)
        return RpcFailure.of(caught.value)


def assert_metrics_count_the_run(  # noqa: PLR0917 - the run's test hands over its fixtures
    channel: grpc.Channel,
    org: str,
    api: CampaignApi,
    grpcurl: Grpcurl,
    campaign: Any,
    execution_id: str,
) -> None:
    """After a delivered run (tests/e2e/test_send_now.py calls it at the end of its run, so
    the suite pays for one run, not two): the counters equal what ListMessages shows."""
    messages = api.call(
        "ListMessages", svc.ListMessagesRequest(campaign_id=campaign.campaign_id, page_size=1000)
    ).messages
    n = len(messages)
    metrics = MetricsApi(channel, org, role="user")  # a reader may ask

    def all_delivered() -> Any:
        found = metrics.get(campaign.campaign_id)
        return found if found.totals.delivered == n else None

    found = eventually(all_delivered, within=RUN_TIMEOUT, what="every message delivered")
    t = found.totals
    assert (t.queued, t.sent, t.delivered, t.opened, t.failed) == (n, n, n, 0, 0)
    assert found.rates.delivery_rate == 1.0
    assert found.updated_at.ToDatetime(UTC) <= datetime.now(UTC)

    # Breakdowns, one asked twice: each comes once, in the order first asked.
    B = mpb
    split = metrics.get(
        campaign.campaign_id,
        execution_id,
        B.BREAKDOWN_SEGMENT,
        B.BREAKDOWN_VARIANT,
        B.BREAKDOWN_VARIANT,
        B.BREAKDOWN_CHANNEL,
    )
    assert split.totals == found.totals
    rows = {(r.breakdown, r.key): r.totals.queued for r in split.rows}
    per_variant = Counter(m.variant_id for m in messages)
    assert rows == {
        **{(B.BREAKDOWN_VARIANT, v): k for v, k in per_variant.items()},
        (B.BREAKDOWN_CHANNEL, "email"): n,
        (B.BREAKDOWN_SEGMENT, campaign.audiences[0].audience_id): n,
    }
    assert split.rows[0].breakdown == B.BREAKDOWN_SEGMENT

    # A report moves the counters: opened once per message, opens_total once per report.
    opened = next(m for m in messages if m.status == xpb.MESSAGE_STATUS_DELIVERED)
    at = opened.delivered_at.ToDatetime(UTC)
    events = Events(channel, org)
    assert summary(events.track(report("opened", opened.message_id, at))) == (1, 0, 0)
    assert summary(events.track(report("opened", opened.message_id, at))) == (1, 0, 0)
    after = metrics.get(campaign.campaign_id).totals
    assert (after.opened, after.opens_total) == (1, 2)

    # grpcurl, by reflection: the same numbers in JSON.
    body = {"campaign_id": campaign.campaign_id, "breakdowns": ["BREAKDOWN_CHANNEL"]}
    answer = grpcurl.invoke(GET, body, token=mint_token(org, "user"))
    assert answer["totals"]["delivered"] == str(n)
    assert answer["totals"]["opens_total"] == "2"
    assert [r["key"] for r in answer["rows"]] == ["email"]
