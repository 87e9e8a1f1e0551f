"""The campaign lifecycle through the API: schedule, activate, pause, resume, cancel."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

import grpc
import pytest
from campaign.v1 import campaign_pb2 as pb
from campaign.v1 import campaign_service_pb2 as svc

from tests.e2e.helpers import (
    CampaignApi,
    draft_request,
    email,
    in_minutes,
    scheduled_request,
    timestamp,
    triggered_request,
    update_request,
)

pytestmark = pytest.mark.e2e


def test_scheduling_a_complete_campaign_sets_its_schedule_and_next_run(api: CampaignApi):
    created = api.create(scheduled_request("Launch"))
    at = in_minutes(30)

    scheduled = api.transition("ScheduleCampaign", created.campaign_id, scheduled_at=timestamp(at))

    assert scheduled.status == pb.CAMPAIGN_STATUS_SCHEDULED
    assert scheduled.schedule.scheduled_at.ToDatetime(tzinfo=at.tzinfo) == at
    assert scheduled.next_run_at.ToDatetime(tzinfo=at.tzinfo) == at
    assert scheduled.etag != created.etag
    assert api.get(created.campaign_id) == scheduled


def test_unscheduling_returns_the_campaign_to_draft_without_a_schedule(api: CampaignApi):
    created = api.create(scheduled_request("Postponed"))
    api.transition("ScheduleCampaign", created.campaign_id, scheduled_at=timestamp(in_minutes(60)))

    draft = api.transition("UnscheduleCampaign", created.campaign_id)

    assert draft.status == pb.CAMPAIGN_STATUS_DRAFT
    assert not draft.HasField("schedule")
    assert not draft.HasField("next_run_at")


def test_a_cron_schedule_fires_at_local_wall_clock_time(api: CampaignApi):
    created = api.create(scheduled_request("Weekly digest"))
    cron = pb.CronSchedule(expression="0 9 * * MON", timezone="Europe/Berlin")

    scheduled = api.transition("ScheduleCampaign", created.campaign_id, cron=cron)

    assert scheduled.status == pb.CAMPAIGN_STATUS_SCHEDULED
    assert scheduled.schedule.cron.expression == "0 9 * * MON"
    local = scheduled.next_run_at.ToDatetime(tzinfo=ZoneInfo("UTC")).astimezone(
        ZoneInfo("Europe/Berlin")
    )
    assert (local.weekday(), local.hour, local.minute) == (0, 9, 0)


def test_scheduling_less_than_five_minutes_ahead_is_invalid_argument(api: CampaignApi):
    created = api.create(scheduled_request("Too soon"))
    request = svc.ScheduleCampaignRequest(
        campaign_id=created.campaign_id, scheduled_at=timestamp(in_minutes(2))
    )

    failure = api.fails("ScheduleCampaign", request)

    assert failure.code == grpc.StatusCode.INVALID_ARGUMENT
    assert failure.fields == ["scheduled_at"]
    assert api.get(created.campaign_id).status == pb.CAMPAIGN_STATUS_DRAFT


@pytest.mark.parametrize("expression", ["* * * * * *", "* * * * *", "0,1 * * * *"])
def test_a_cron_with_seconds_or_firing_within_the_hour_is_invalid_argument(
    api: CampaignApi, expression: str
):
    """Issue #10 item 6: six fields (seconds) or firings closer than CAMPAIGN_CRON_MIN_INTERVAL_
    SECONDS (an hour) would send the same message to every recipient again and again."""
    created = api.create(scheduled_request("Ticker"))
    request = svc.ScheduleCampaignRequest(
        campaign_id=created.campaign_id, cron=pb.CronSchedule(expression=expression)
    )

    failure = api.fails("ScheduleCampaign", request)

    assert failure.code == grpc.StatusCode.INVALID_ARGUMENT
    assert failure.fields == ["cron.expression"]
    assert api.get(created.campaign_id).status == pb.CAMPAIGN_STATUS_DRAFT


def test_scheduling_without_a_time_is_invalid_argument(api: CampaignApi):
    created = api.create(scheduled_request("No time"))

    failure = api.fails(
        "ScheduleCampaign", svc.ScheduleCampaignRequest(campaign_id=created.campaign_id)
    )

    assert failure.code == grpc.StatusCode.INVALID_ARGUMENT
    assert failure.fields == ["schedule"]


def test_scheduling_an_incomplete_campaign_fails_its_preconditions(api: CampaignApi):
    created = api.create(draft_request("Empty shell"))
    request = svc.ScheduleCampaignRequest(
        campaign_id=created.campaign_id, scheduled_at=timestamp(in_minutes(30))
    )

    failure = api.fails("ScheduleCampaign", request)

    assert failure.code == grpc.StatusCode.FAILED_PRECONDITION
    assert failure.reason == "CAMPAIGN_INCOMPLETE"
    assert sorted(failure.subjects) == ["audiences", "channels"]
    assert {v.type for v in failure.precondition_violations} == {"INCOMPLETE"}
    current = api.get(created.campaign_id)
    assert current.status == pb.CAMPAIGN_STATUS_DRAFT
    assert current.etag == created.etag


def test_a_content_that_fails_to_render_is_refused_at_launch(api: CampaignApi):
    created = api.create(scheduled_request("Broken body", channels=[email(html_body="{{ 1/0 }}")]))
    request = svc.ScheduleCampaignRequest(
        campaign_id=created.campaign_id, scheduled_at=timestamp(in_minutes(30))
    )

    failure = api.fails("ScheduleCampaign", request)

    assert failure.code == grpc.StatusCode.FAILED_PRECONDITION
    assert failure.reason == "CAMPAIGN_INCOMPLETE"
    assert failure.subjects == ["channels[0].email.html_body"]
    [violation] = failure.precondition_violations
    assert violation.type == "TEMPLATE_RENDER"
    assert violation.description == "fails to render: ZeroDivisionError: division by zero"
    assert api.get(created.campaign_id).status == pb.CAMPAIGN_STATUS_DRAFT


def test_a_triggered_campaign_activates_pauses_resumes_and_cancels(api: CampaignApi):
    created = api.create(triggered_request("Order thanks"))

    active = api.transition("ActivateCampaign", created.campaign_id)
    paused = api.transition("PauseCampaign", created.campaign_id)
    resumed = api.transition("ResumeCampaign", created.campaign_id)
    cancelled = api.transition("CancelCampaign", created.campaign_id, reason="season over")

    assert active.status == pb.CAMPAIGN_STATUS_ACTIVE
    assert active.HasField("activated_at")
    assert paused.status == pb.CAMPAIGN_STATUS_PAUSED
    assert paused.HasField("paused_at")
    assert resumed.status == pb.CAMPAIGN_STATUS_ACTIVE
    assert not resumed.HasField("paused_at")
    assert cancelled.status == pb.CAMPAIGN_STATUS_CANCELLED
    assert cancelled.cancel_reason == "season over"
    assert cancelled.HasField("cancelled_at")
    assert len({created.etag, active.etag, paused.etag, resumed.etag, cancelled.etag}) == 5
    assert api.get(created.campaign_id) == cancelled


def test_activating_a_triggered_campaign_has_no_warning(api: CampaignApi):
    # Inbound events fire triggered campaigns (docs/triggers.md): nothing to warn about.
    triggered = api.create(triggered_request("Order thanks"))

    answer = api.call(
        "ActivateCampaign", svc.ActivateCampaignRequest(campaign_id=triggered.campaign_id)
    )

    assert answer.campaign.status == pb.CAMPAIGN_STATUS_ACTIVE
    assert list(answer.warnings) == []


def test_resuming_a_draft_is_a_failed_precondition(api: CampaignApi):
    created = api.create(triggered_request("Never started"))

    failure = api.fails(
        "ResumeCampaign", svc.ResumeCampaignRequest(campaign_id=created.campaign_id)
    )

    assert failure.code == grpc.StatusCode.FAILED_PRECONDITION
    assert failure.reason == "INVALID_STATE_TRANSITION"
    assert failure.error_metadata["status"] == "draft"
    assert api.get(created.campaign_id).status == pb.CAMPAIGN_STATUS_DRAFT


@pytest.mark.parametrize(
    ("rpc", "fields"),
    [
        ("ResumeCampaign", {}),
        ("PauseCampaign", {}),
        ("ActivateCampaign", {}),
        ("CancelCampaign", {"reason": "again"}),
        ("UnscheduleCampaign", {}),
    ],
)
def test_a_cancelled_campaign_is_final(api: CampaignApi, rpc: str, fields: dict[str, str]):
    created = api.create(triggered_request("Done"))
    cancelled = api.transition("CancelCampaign", created.campaign_id, reason="stop")

    request = getattr(svc, f"{rpc}Request")(campaign_id=created.campaign_id, **fields)
    failure = api.fails(rpc, request)

    assert failure.code == grpc.StatusCode.FAILED_PRECONDITION
    assert api.get(created.campaign_id) == cancelled


def test_activating_a_scheduled_type_campaign_is_a_failed_precondition(api: CampaignApi):
    created = api.create(scheduled_request("Wrong verb"))

    failure = api.fails(
        "ActivateCampaign", svc.ActivateCampaignRequest(campaign_id=created.campaign_id)
    )

    assert failure.code == grpc.StatusCode.FAILED_PRECONDITION
    assert "ScheduleCampaign" in failure.message


def test_an_active_campaign_cannot_be_edited_but_a_paused_one_can(api: CampaignApi):
    created = api.create(triggered_request("Live"))
    active = api.transition("ActivateCampaign", created.campaign_id)
    rename = pb.Campaign(campaign_id=created.campaign_id, name="Renamed")

    refused = api.fails("UpdateCampaign", update_request(rename, ["name"], etag=active.etag))
    paused = api.transition("PauseCampaign", created.campaign_id)
    renamed = api.update(rename, ["name"], etag=paused.etag)

    assert refused.code == grpc.StatusCode.FAILED_PRECONDITION
    assert refused.reason == "CAMPAIGN_NOT_EDITABLE"
    assert renamed.name == "Renamed"
    assert renamed.status == pb.CAMPAIGN_STATUS_PAUSED


def test_a_scheduled_campaign_can_be_cancelled_with_its_run_cleared(api: CampaignApi):
    created = api.create(scheduled_request("Called off"))
    at = in_minutes(90)
    api.transition("ScheduleCampaign", created.campaign_id, scheduled_at=timestamp(at))

    cancelled = api.transition("CancelCampaign", created.campaign_id, reason="budget")

    assert cancelled.status == pb.CAMPAIGN_STATUS_CANCELLED
    assert not cancelled.HasField("next_run_at")
    listed = api.list(statuses=[pb.CAMPAIGN_STATUS_SCHEDULED])
    assert listed.total_size == 0


def test_scheduling_an_already_scheduled_campaign_is_a_failed_precondition(api: CampaignApi):
    created = api.create(scheduled_request("Twice"))
    first = in_minutes(30)
    api.transition("ScheduleCampaign", created.campaign_id, scheduled_at=timestamp(first))
    request = svc.ScheduleCampaignRequest(
        campaign_id=created.campaign_id, scheduled_at=timestamp(first + timedelta(hours=1))
    )

    failure = api.fails("ScheduleCampaign", request)

    assert failure.code == grpc.StatusCode.FAILED_PRECONDITION
    current = api.get(created.campaign_id)
    assert current.next_run_at.ToDatetime(tzinfo=first.tzinfo) == first
