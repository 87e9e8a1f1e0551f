"""SendCampaignNow (issue #11, a first campaign in two minutes): an operator starts a draft
one-time campaign's run at once, recorded as trigger "manual", on the shared server with the
production defaults (a 5-minute scheduling lead, 0.5 s worker interval, default rate limits). It
goes through ScheduleCampaign's launch checks, moves draft -> running, and the campaign completes
when the run has delivered; scheduling keeps its lead, and the lead-time error names the
setting that changes it. Every test runs on SQLite and on Postgres.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import grpc
import pytest
from campaign.v1 import campaign_pb2 as pb
from campaign.v1 import campaign_service_pb2 as svc
from campaign.v1 import execution_pb2 as xpb

from tests.e2e.engine_helpers import AudienceApi, contact, eventually
from tests.e2e.helpers import (
    CampaignApi,
    Grpcurl,
    email,
    in_country,
    in_minutes,
    mint_token,
    scheduled_request,
    timestamp,
    triggered_request,
)
from tests.e2e.metrics_helpers import assert_metrics_count_the_run

pytestmark = pytest.mark.e2e

RUN_TIMEOUT = 60.0
RECIPIENTS = 20  # 2 in 2**20 runs would put every recipient in one variant
NO_QUIET_HOURS = pb.Throttle(quiet_hours=pb.QuietHours(enabled=False))


@pytest.fixture
def audience(channel: object, org: str) -> AudienceApi:
    return AudienceApi(channel, mint_token(org))  # type: ignore[arg-type]


def seed(audience: AudienceApi) -> set[str]:
    """RECIPIENTS contacts in the US (the audience) and two in Canada (not in it)."""
    users = {f"u{i:02d}": "US" for i in range(RECIPIENTS)} | {"ca1": "CA", "ca2": "CA"}
    reply = audience.upsert(
        *(
            contact(u, timezone="UTC", attributes={"first_name": u.upper(), "country": c})
            for u, c in users.items()
        )
    )
    assert reply.upserted_count == len(users), reply
    return {u for u, c in users.items() if c == "US"}


def ab_request(name: str = "Send now") -> svc.CreateCampaignRequest:
    return svc.CreateCampaignRequest(
        name=name,
        campaign_type=pb.CAMPAIGN_TYPE_SCHEDULED,
        audiences=[in_country("US")],
        variants=[
            pb.Variant(
                name="A", allocation_percentage=50, channels=[email("10% off, {{ first_name }}")]
            ),
            pb.Variant(
                name="B",
                allocation_percentage=50,
                channels=[email("Free shipping, {{ first_name }}")],
            ),
        ],
        throttle=NO_QUIET_HOURS,
    )


def send_now(api: CampaignApi, campaign_id: str) -> svc.SendCampaignNowResponse:
    reply: svc.SendCampaignNowResponse = api.call(
        "SendCampaignNow", svc.SendCampaignNowRequest(campaign_id=campaign_id)
    )
    return reply


def executions(api: CampaignApi, campaign_id: str) -> list[xpb.Execution]:
    reply = api.call("ListExecutions", svc.ListExecutionsRequest(campaign_id=campaign_id))
    return list(reply.executions)


def test_send_now_runs_a_draft_at_once_and_delivers_every_variant(
    api: CampaignApi, audience: AudienceApi, channel: grpc.Channel, org: str, grpcurl: Grpcurl
) -> None:
    recipients = seed(audience)
    campaign = api.create(ab_request())

    reply = send_now(api, campaign.campaign_id)

    assert reply.campaign.status == pb.CAMPAIGN_STATUS_RUNNING
    assert not reply.campaign.HasField("schedule")
    started = reply.execution
    assert started.campaign_id == campaign.campaign_id
    assert started.trigger == "manual"
    assert started.status == xpb.EXECUTION_STATUS_PENDING

    def finished() -> xpb.Execution | None:
        found = api.call(
            "GetExecution",
            svc.GetExecutionRequest(
                campaign_id=campaign.campaign_id, execution_id=started.execution_id
            ),
        ).execution
        done = found.status in (xpb.EXECUTION_STATUS_COMPLETED, xpb.EXECUTION_STATUS_FAILED)
        return found if done else None

    run = eventually(finished, within=RUN_TIMEOUT, what="the manual run to finish")
    assert run.status == xpb.EXECUTION_STATUS_COMPLETED, run.failure_reason
    assert run.trigger == "manual"
    assert run.counts.delivered == len(recipients)

    messages = api.call(
        "ListMessages",
        svc.ListMessagesRequest(campaign_id=campaign.campaign_id, page_size=1000),
    ).messages
    assert {m.user_id for m in messages} == recipients
    assert {m.status for m in messages} == {xpb.MESSAGE_STATUS_DELIVERED}
    names = {v.variant_id: v.name for v in reply.campaign.variants}
    per_variant = Counter(names[m.variant_id] for m in messages)
    assert set(per_variant) == {"A", "B"}
    assert sum(per_variant.values()) == len(recipients)
    # A one-time campaign sent now completes with its run, like one that was scheduled.
    assert api.get(campaign.campaign_id).status == pb.CAMPAIGN_STATUS_COMPLETED
    assert [e.execution_id for e in executions(api, campaign.campaign_id)] == [started.execution_id]
    # GetCampaignMetrics counts this run (tests/e2e/test_campaign_metrics.py).
    assert_metrics_count_the_run(channel, org, api, grpcurl, campaign, started.execution_id)


def test_a_second_send_now_is_refused_and_starts_no_second_run(
    api: CampaignApi, audience: AudienceApi
) -> None:
    seed(audience)
    campaign = api.create(ab_request())
    first = send_now(api, campaign.campaign_id)

    failure = api.fails(
        "SendCampaignNow", svc.SendCampaignNowRequest(campaign_id=campaign.campaign_id)
    )

    assert failure.code.name == "FAILED_PRECONDITION"
    assert failure.reason == "INVALID_STATE_TRANSITION"
    assert failure.error_metadata["action"] == "send now"
    assert [e.execution_id for e in executions(api, campaign.campaign_id)] == [
        first.execution.execution_id
    ]


def test_send_now_goes_through_the_launch_checks(api: CampaignApi, audience: AudienceApi) -> None:
    """What ScheduleCampaign refuses, SendCampaignNow refuses too, and changes nothing."""
    seed(audience)
    no_audience = api.create(scheduled_request(audiences=[]))
    typo = ab_request()
    typo.variants[1].channels[0].email.subject = "Hi {{ frist_name }}"
    misspelt = api.create(typo)

    for campaign, reason, subject in (
        (no_audience, "CAMPAIGN_INCOMPLETE", "audiences"),
        (misspelt, "CAMPAIGN_INCOMPLETE", "variants[1].channels[0].email.subject"),
    ):
        sent = api.fails(
            "SendCampaignNow", svc.SendCampaignNowRequest(campaign_id=campaign.campaign_id)
        )
        scheduled = api.fails(
            "ScheduleCampaign",
            svc.ScheduleCampaignRequest(
                campaign_id=campaign.campaign_id, scheduled_at=timestamp(in_minutes(60))
            ),
        )

        assert (sent.code.name, sent.reason) == ("FAILED_PRECONDITION", reason)
        assert (sent.code, sent.reason, sent.subjects) == (
            scheduled.code,
            scheduled.reason,
            scheduled.subjects,
        )
        assert any(subject in s for s in sent.subjects), sent.subjects
        after = api.get(campaign.campaign_id)
        assert (after.status, after.etag) == (pb.CAMPAIGN_STATUS_DRAFT, campaign.etag)
        assert executions(api, campaign.campaign_id) == []


@pytest.mark.parametrize(
    "make",
    [triggered_request, ab_request],
    ids=["a triggered campaign", "an already scheduled campaign"],
)
def test_send_now_only_starts_a_draft_one_time_campaign(
    api: CampaignApi, audience: AudienceApi, make: Callable[[], svc.CreateCampaignRequest]
) -> None:
    seed(audience)
    campaign = api.create(make())
    if campaign.campaign_type == pb.CAMPAIGN_TYPE_SCHEDULED:
        campaign = api.transition(
            "ScheduleCampaign", campaign.campaign_id, scheduled_at=timestamp(in_minutes(60))
        )

    failure = api.fails(
        "SendCampaignNow", svc.SendCampaignNowRequest(campaign_id=campaign.campaign_id)
    )

    assert failure.code.name == "FAILED_PRECONDITION"
    assert api.get(campaign.campaign_id).status == campaign.status
    assert executions(api, campaign.campaign_id) == []


def test_readers_cannot_send_now(
    api: CampaignApi, api_as: Callable[..., CampaignApi], org: str, audience: AudienceApi
) -> None:
    seed(audience)
    campaign = api.create(ab_request())

    failure = api_as(org, "user").fails(
        "SendCampaignNow", svc.SendCampaignNowRequest(campaign_id=campaign.campaign_id)
    )

    assert failure.code.name == "PERMISSION_DENIED"
    assert api.get(campaign.campaign_id).status == pb.CAMPAIGN_STATUS_DRAFT


def test_scheduling_keeps_its_lead_and_the_error_names_the_setting(
    api: CampaignApi, audience: AudienceApi
) -> None:
    seed(audience)
    campaign = api.create(ab_request())

    failure = api.fails(
        "ScheduleCampaign",
        svc.ScheduleCampaignRequest(
            campaign_id=campaign.campaign_id, scheduled_at=timestamp(in_minutes(1))
        ),
    )

    assert failure.code.name == "INVALID_ARGUMENT"
    [violation] = failure.field_violations
    assert violation.field == "scheduled_at"
    assert "at least 5 minutes in the future" in violation.description
    assert "CAMPAIGN_SCHEDULE_MIN_LEAD_SECONDS" in violation.description
    assert "SendCampaignNow" in violation.description
    assert api.get(campaign.campaign_id).status == pb.CAMPAIGN_STATUS_DRAFT


def test_two_concurrent_send_nows_start_one_run(api: CampaignApi, audience: AudienceApi) -> None:
    seed(audience)
    campaign = api.create(ab_request())
    request = svc.SendCampaignNowRequest(campaign_id=campaign.campaign_id)

    def attempt(_: int) -> str:
        try:
            api.call("SendCampaignNow", request)
        except grpc.RpcError as exc:
            return str(exc.code().name)
        return "OK"

    with ThreadPoolExecutor(max_workers=4) as pool:
        outcomes = Counter(pool.map(attempt, range(4)))

    assert outcomes["OK"] == 1, outcomes
    assert set(outcomes) <= {"OK", "FAILED_PRECONDITION", "ABORTED"}, outcomes
    assert len(executions(api, campaign.campaign_id)) == 1
