"""SelectWinner through the API (typed stubs, on the shared server, SQLite and Postgres): the winner
is recorded and shown by GetCampaign and GetExperimentResults, a run started afterwards sends only
the winner, and every refusal is a precise status."""

from __future__ import annotations

from collections import Counter

import grpc
import pytest
from campaign.v1 import campaign_pb2 as pb
from campaign.v1 import campaign_service_pb2 as svc
from campaign.v1 import execution_pb2 as xpb
from campaign.v1 import metrics_pb2 as mpb
from campaign.v1 import metrics_service_pb2 as msvc
from campaign.v1 import metrics_service_pb2_grpc as msvc_grpc

from tests.e2e.engine_helpers import AudienceApi, contact, eventually
from tests.e2e.helpers import (
    RPC_TIMEOUT,
    CampaignApi,
    RpcFailure,
    bearer,
    email,
    in_country,
    mint_token,
    scheduled_request,
)

pytestmark = pytest.mark.e2e

RUN_TIMEOUT = 60.0
RECIPIENTS = 12


def ab_request(name: str = "Winner test") -> svc.CreateCampaignRequest:
    return svc.CreateCampaignRequest(
        name=name,
        campaign_type=pb.CAMPAIGN_TYPE_SCHEDULED,
        audiences=[in_country("US")],
        variants=[
            pb.Variant(name="A", allocation_percentage=40, channels=[email("A {{ first_name }}")]),
            pb.Variant(name="B", allocation_percentage=40, channels=[email("B {{ first_name }}")]),
            pb.Variant(name="Control", allocation_percentage=20, is_control=True),
        ],
        ab_test=pb.AbTest(
            auto_winner_enabled=True,
            auto_winner_metric=pb.EXPERIMENT_METRIC_CONVERSION_RATE,
            min_sample_per_variant=1000,
        ),
        throttle=pb.Throttle(quiet_hours=pb.QuietHours(enabled=False)),
    )


def by_name(campaign: pb.Campaign) -> dict[str, str]:
    return {v.name: v.variant_id for v in campaign.variants}


def select(api: CampaignApi, campaign_id: str, variant_id: str) -> pb.Campaign:
    reply: svc.SelectWinnerResponse = api.call(
        "SelectWinner", svc.SelectWinnerRequest(campaign_id=campaign_id, variant_id=variant_id)
    )
    return reply.campaign


def test_select_winner_records_the_winner_get_campaign_shows_it(
    api: CampaignApi, channel: grpc.Channel, org: str
) -> None:
    created = api.create(ab_request())
    b = by_name(created)["B"]

    chosen = select(api, created.campaign_id, b)

    assert chosen.winner_variant_id == b
    assert chosen.etag != created.etag
    assert api.get(created.campaign_id).winner_variant_id == b
    again = select(api, created.campaign_id, b)  # the same winner again changes nothing
    assert again.etag == chosen.etag

    results = msvc_grpc.MetricsServiceStub(channel).GetExperimentResults(
        msvc.GetExperimentResultsRequest(campaign_id=created.campaign_id),
        metadata=bearer(mint_token(org, "user")),
        timeout=RPC_TIMEOUT,
    )
    assert results.winner_variant_id == b
    assert results.auto_winner_state == mpb.AUTO_WINNER_STATE_DECIDED
    assert results.metric == pb.EXPERIMENT_METRIC_CONVERSION_RATE
    assert results.confidence == pytest.approx(0.95)
    assert [v.name for v in results.variants] == ["A", "B", "Control"]
    assert results.baseline_variant_id == by_name(created)["Control"]
    assert not results.is_significant
    assert results.sample_ratio_mismatch.threshold == pytest.approx(0.001)
    assert not results.sample_ratio_mismatch.checked  # a winner ends the allocation check


def test_select_winner_refusals_are_precise(
    api: CampaignApi, api_as, channel: grpc.Channel, org: str
) -> None:
    created = api.create(ab_request())
    ids = by_name(created)

    control = api.fails(
        "SelectWinner",
        svc.SelectWinnerRequest(campaign_id=created.campaign_id, variant_id=ids["Control"]),
    )
    assert (control.code, control.reason) == (
        grpc.StatusCode.FAILED_PRECONDITION,
        "CONTROL_CANNOT_WIN",
    )
    unknown = api.fails(
        "SelectWinner", svc.SelectWinnerRequest(campaign_id=created.campaign_id, variant_id="nope")
    )
    assert (unknown.code, unknown.reason) == (grpc.StatusCode.NOT_FOUND, "VARIANT_NOT_FOUND")
    assert unknown.error_metadata == {"variant_id": "nope"}
    empty = api.fails("SelectWinner", svc.SelectWinnerRequest(campaign_id=created.campaign_id))
    assert (empty.code, empty.fields) == (grpc.StatusCode.INVALID_ARGUMENT, ["variant_id"])
    no_id = api.fails("SelectWinner", svc.SelectWinnerRequest(variant_id=ids["A"]))
    assert (no_id.code, no_id.fields) == (grpc.StatusCode.INVALID_ARGUMENT, ["campaign_id"])

    plain = api.create(scheduled_request())
    not_ab = api.fails(
        "SelectWinner", svc.SelectWinnerRequest(campaign_id=plain.campaign_id, variant_id="v")
    )
    assert (not_ab.code, not_ab.reason) == (grpc.StatusCode.FAILED_PRECONDITION, "NOT_AN_AB_TEST")

    outsider = api_as("another-" + org).fails(
        "SelectWinner",
        svc.SelectWinnerRequest(campaign_id=created.campaign_id, variant_id=ids["A"]),
    )
    assert (outsider.code, outsider.reason) == (grpc.StatusCode.NOT_FOUND, "CAMPAIGN_NOT_FOUND")
    reader = api_as(org, "user").fails(
        "SelectWinner",
        svc.SelectWinnerRequest(campaign_id=created.campaign_id, variant_id=ids["A"]),
    )
    assert reader.code == grpc.StatusCode.PERMISSION_DENIED
    assert api.get(created.campaign_id).winner_variant_id == ""  # nothing was recorded

    results = msvc_grpc.MetricsServiceStub(channel).GetExperimentResults
    with pytest.raises(grpc.RpcError) as caught:
        results(
            msvc.GetExperimentResultsRequest(campaign_id=created.campaign_id),
            metadata=bearer(mint_token("another-" + org)),
            timeout=RPC_TIMEOUT,
        )
    assert RpcFailure.of(caught.value).reason == "CAMPAIGN_NOT_FOUND"
    with pytest.raises(grpc.RpcError) as caught:
        results(
            msvc.GetExperimentResultsRequest(campaign_id=created.campaign_id, metric=99),  # type: ignore[arg-type]
            metadata=bearer(mint_token(org)),
            timeout=RPC_TIMEOUT,
        )
    unknown_metric = RpcFailure.of(caught.value)
    assert (unknown_metric.code, unknown_metric.fields) == (
        grpc.StatusCode.INVALID_ARGUMENT,
        ["metric"],
    )


def test_a_run_after_select_winner_sends_only_the_winner(
    api: CampaignApi, channel: grpc.Channel, org: str
) -> None:
    audience = AudienceApi(channel, mint_token(org))
    users = {f"u{i:02d}" for i in range(RECIPIENTS)}
    audience.upsert(
        *(
            contact(u, timezone="UTC", attributes={"first_name": u, "country": "US"})
            for u in sorted(users)
        )
    )
    created = api.create(ab_request())
    a = by_name(created)["A"]
    select(api, created.campaign_id, a)

    started = api.call(
        "SendCampaignNow", svc.SendCampaignNowRequest(campaign_id=created.campaign_id)
    ).execution

    def finished() -> xpb.Execution | None:
        found = api.call(
            "GetExecution",
            svc.GetExecutionRequest(
                campaign_id=created.campaign_id, execution_id=started.execution_id
            ),
        ).execution
        done = found.status in (xpb.EXECUTION_STATUS_COMPLETED, xpb.EXECUTION_STATUS_FAILED)
        return found if done else None

    run = eventually(finished, within=RUN_TIMEOUT, what="the run to finish")
    assert run.status == xpb.EXECUTION_STATUS_COMPLETED, run.failure_reason
    messages = api.call(
        "ListMessages", svc.ListMessagesRequest(campaign_id=created.campaign_id, page_size=100)
    ).messages
    # Every recipient, the control's share included, got the winner (no holdout here).
    assert {m.user_id for m in messages} == users
    assert Counter(m.variant_id for m in messages) == {a: RECIPIENTS}
