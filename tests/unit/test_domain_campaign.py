"""The campaign aggregate: every lifecycle method from every starting status, and the edit rules
of BR-CAM-001.5-8."""

from __future__ import annotations

import copy
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from domain.audience.model import Audience, SegmentType
from domain.campaigns.campaign import Campaign
from domain.campaigns.model import (
    CampaignSpec,
    CampaignStatus,
    CampaignType,
    ChannelContent,
    Schedule,
    Variant,
)
from domain.kernel.channels import Channel
from domain.kernel.errors import (
    CampaignNotEditableError,
    FailedPreconditionError,
    InvalidTransitionError,
)

S = CampaignStatus
T0 = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
LATER = T0 + timedelta(minutes=1)
NEXT_RUN = T0 + timedelta(days=1)
ONE_TIME = Schedule(scheduled_at=NEXT_RUN)


def campaign_in(
    status: CampaignStatus,
    campaign_type: CampaignType = CampaignType.SCHEDULED,
    *,
    paused_from: CampaignStatus | None = None,
) -> Campaign:
    spec = CampaignSpec(
        name="Spring sale",
        campaign_type=campaign_type,
        audiences=(Audience("aud-1", SegmentType.INCLUDE, segment_id="seg-1"),),
        channels=(ChannelContent(Channel.SMS, body="Hi"),),
        variants=(Variant("v-1", "a", 50), Variant("v-2", "b", 50)),
        holdout_percentage=5,
    )
    if status is S.PAUSED and paused_from is None:
        paused_from = S.ACTIVE
    return Campaign(
        campaign_id="cmp-1",
        organization_id="org-1",
        spec=spec,
        created_by="alice",
        created_at=T0,
        updated_at=T0,
        updated_by="alice",
        status=status,
        paused_from=paused_from,
        paused_at=T0 if status is S.PAUSED else None,
    )


def others(*allowed: CampaignStatus) -> list[CampaignStatus]:
    return [s for s in S if s not in allowed]


def assert_refused(campaign: Campaign, action: object, error: type[Exception]) -> None:
    """The action raises `error` and leaves the campaign exactly as it was."""
    before = copy.deepcopy(campaign)

    with pytest.raises(error):
        action()  # type: ignore[operator]

    assert campaign == before


# --- schedule / unschedule -----------------------------------------------------------------------


def test_schedule_moves_a_draft_to_scheduled_with_its_first_run() -> None:
    campaign = campaign_in(S.DRAFT)

    campaign.schedule_for(ONE_TIME, NEXT_RUN, by="bob", at=LATER)

    assert campaign.status is S.SCHEDULED
    assert campaign.schedule == ONE_TIME
    assert campaign.next_run_at == NEXT_RUN
    assert (campaign.updated_by, campaign.updated_at) == ("bob", LATER)


@pytest.mark.parametrize(
    "status",
    [
        *others(S.DRAFT, S.RUNNING),
        S.RUNNING,
    ],
)
def test_schedule_is_refused_unless_the_campaign_is_a_draft(status: CampaignStatus) -> None:
    campaign = campaign_in(status)

    assert_refused(
        campaign,
        lambda: campaign.schedule_for(ONE_TIME, NEXT_RUN, by="bob", at=LATER),
        InvalidTransitionError,
    )


@pytest.mark.parametrize("campaign_type", [CampaignType.TRIGGERED, CampaignType.TRANSACTIONAL])
def test_schedule_is_refused_for_a_campaign_that_is_not_of_scheduled_type(
    campaign_type: CampaignType,
) -> None:
    campaign = campaign_in(S.DRAFT, campaign_type)
    before = copy.deepcopy(campaign)

    with pytest.raises(FailedPreconditionError) as caught:
        campaign.schedule_for(ONE_TIME, NEXT_RUN, by="bob", at=LATER)

    assert type(caught.value) is FailedPreconditionError
    assert caught.value.metadata == {"campaign_type": campaign_type.value}
    assert campaign == before


@pytest.mark.parametrize("status", [S.SCHEDULED, S.ACTIVE])
def test_unschedule_returns_to_draft_and_clears_the_schedule(status: CampaignStatus) -> None:
    campaign = campaign_in(status)
    campaign.schedule, campaign.next_run_at = ONE_TIME, NEXT_RUN

    campaign.unschedule(by="bob", at=LATER)

    assert campaign.status is S.DRAFT
    assert (campaign.schedule, campaign.next_run_at) == (None, None)
    assert (campaign.updated_by, campaign.updated_at) == ("bob", LATER)


@pytest.mark.parametrize("status", others(S.SCHEDULED, S.ACTIVE))
def test_unschedule_is_refused_unless_scheduled_or_active(status: CampaignStatus) -> None:
    campaign = campaign_in(status)

    assert_refused(
        campaign, lambda: campaign.unschedule(by="bob", at=LATER), InvalidTransitionError
    )


# --- activate ------------------------------------------------------------------------------------


@pytest.mark.parametrize("campaign_type", [CampaignType.TRIGGERED, CampaignType.TRANSACTIONAL])
def test_activate_moves_a_draft_to_active(campaign_type: CampaignType) -> None:
    campaign = campaign_in(S.DRAFT, campaign_type)

    campaign.activate(by="bob", at=LATER)

    assert campaign.status is S.ACTIVE
    assert campaign.activated_at == LATER
    assert (campaign.updated_by, campaign.updated_at) == ("bob", LATER)


@pytest.mark.parametrize(
    "status",
    [
        *others(S.DRAFT, S.PAUSED, S.RUNNING),
        S.PAUSED,
        S.RUNNING,
    ],
)
def test_activate_is_refused_unless_the_campaign_is_a_draft(status: CampaignStatus) -> None:
    campaign = campaign_in(status, CampaignType.TRIGGERED)

    assert_refused(campaign, lambda: campaign.activate(by="bob", at=LATER), InvalidTransitionError)


@pytest.mark.parametrize("status", list(S))
def test_activate_is_refused_for_a_scheduled_type_campaign(status: CampaignStatus) -> None:
    campaign = campaign_in(status, CampaignType.SCHEDULED)
    before = copy.deepcopy(campaign)

    with pytest.raises(FailedPreconditionError) as caught:
        campaign.activate(by="bob", at=LATER)

    assert type(caught.value) is FailedPreconditionError
    assert caught.value.metadata == {"campaign_type": "scheduled"}
    assert campaign == before


# --- pause / resume ------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [S.ACTIVE, S.RUNNING])
def test_pause_records_where_the_campaign_was_paused_from(status: CampaignStatus) -> None:
    campaign = campaign_in(status, CampaignType.TRIGGERED)

    campaign.pause(by="bob", at=LATER)

    assert campaign.status is S.PAUSED
    assert campaign.paused_from is status
    assert campaign.paused_at == LATER
    assert (campaign.updated_by, campaign.updated_at) == ("bob", LATER)


@pytest.mark.parametrize("status", others(S.ACTIVE, S.RUNNING))
def test_pause_is_refused_unless_active_or_running(status: CampaignStatus) -> None:
    campaign = campaign_in(status, CampaignType.TRIGGERED)

    assert_refused(campaign, lambda: campaign.pause(by="bob", at=LATER), InvalidTransitionError)


@pytest.mark.parametrize("paused_from", [S.ACTIVE, S.RUNNING])
def test_resume_returns_to_the_state_it_was_paused_from(paused_from: CampaignStatus) -> None:
    campaign = campaign_in(paused_from, CampaignType.TRIGGERED)
    campaign.pause(by="bob", at=T0)

    campaign.resume(by="carol", at=LATER)

    assert campaign.status is paused_from
    assert (campaign.paused_from, campaign.paused_at) == (None, None)
    assert (campaign.updated_by, campaign.updated_at) == ("carol", LATER)


def test_resume_without_a_recorded_origin_returns_to_active() -> None:
    campaign = campaign_in(S.PAUSED, CampaignType.TRIGGERED)
    campaign.paused_from = None

    campaign.resume(by="bob", at=LATER)

    assert campaign.status is S.ACTIVE


@pytest.mark.parametrize("status", others(S.PAUSED))
def test_resume_is_refused_unless_paused(status: CampaignStatus) -> None:
    campaign = campaign_in(status, CampaignType.TRIGGERED)

    assert_refused(campaign, lambda: campaign.resume(by="bob", at=LATER), InvalidTransitionError)


def test_cancelled_campaign_cannot_be_resumed() -> None:
    campaign = campaign_in(S.ACTIVE, CampaignType.TRIGGERED)
    campaign.pause(by="bob", at=T0)
    campaign.cancel("budget cut", by="bob", at=T0)

    with pytest.raises(InvalidTransitionError) as caught:
        campaign.resume(by="bob", at=LATER)

    assert caught.value.metadata["status"] == "cancelled"
    assert caught.value.metadata["action"] == "resume"
    assert campaign.status is S.CANCELLED


# --- cancel --------------------------------------------------------------------------------------


@pytest.mark.parametrize("status", others(S.COMPLETED, S.CANCELLED))
def test_cancel_ends_any_campaign_that_is_not_final(status: CampaignStatus) -> None:
    campaign = campaign_in(status)
    campaign.next_run_at = NEXT_RUN

    campaign.cancel("budget cut", by="bob", at=LATER)

    assert campaign.status is S.CANCELLED
    assert campaign.cancel_reason == "budget cut"
    assert campaign.cancelled_at == LATER
    assert campaign.next_run_at is None
    assert (campaign.updated_by, campaign.updated_at) == ("bob", LATER)


@pytest.mark.parametrize("status", [S.COMPLETED, S.CANCELLED])
def test_cancel_is_refused_for_a_final_campaign(status: CampaignStatus) -> None:
    campaign = campaign_in(status)

    assert_refused(
        campaign, lambda: campaign.cancel("again", by="bob", at=LATER), InvalidTransitionError
    )


# --- executions ----------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [S.SCHEDULED, S.ACTIVE])
def test_start_execution_moves_to_running(status: CampaignStatus) -> None:
    campaign = campaign_in(status)

    campaign.start_execution(at=LATER)

    assert campaign.status is S.RUNNING


@pytest.mark.parametrize(
    "status",
    [
        *others(S.SCHEDULED, S.ACTIVE, S.PAUSED),
        S.PAUSED,
    ],
)
def test_start_execution_is_refused_unless_scheduled_or_active(status: CampaignStatus) -> None:
    campaign = campaign_in(status)

    assert_refused(campaign, lambda: campaign.start_execution(at=LATER), InvalidTransitionError)


def test_finishing_a_triggered_execution_returns_to_active() -> None:
    campaign = campaign_in(S.RUNNING, CampaignType.TRIGGERED)

    campaign.finish_execution(at=LATER)

    assert campaign.status is S.ACTIVE
    assert campaign.completed_at is None


def test_finishing_a_recurring_execution_returns_to_scheduled_for_the_next_run() -> None:
    campaign = campaign_in(S.RUNNING)

    campaign.finish_execution(at=LATER, next_run_at=NEXT_RUN)

    assert campaign.status is S.SCHEDULED
    assert campaign.next_run_at == NEXT_RUN
    assert campaign.completed_at is None


def test_finishing_the_last_execution_completes_the_campaign() -> None:
    campaign = campaign_in(S.RUNNING)
    campaign.next_run_at = T0

    campaign.finish_execution(at=LATER)

    assert campaign.status is S.COMPLETED
    assert campaign.completed_at == LATER
    assert campaign.next_run_at is None


@pytest.mark.parametrize(
    "status",
    [
        *others(S.RUNNING, S.DRAFT, S.PAUSED),
        S.DRAFT,
        S.PAUSED,
    ],
)
def test_finish_execution_of_a_triggered_campaign_is_refused_unless_running(
    status: CampaignStatus,
) -> None:
    campaign = campaign_in(status, CampaignType.TRIGGERED)

    assert_refused(campaign, lambda: campaign.finish_execution(at=LATER), InvalidTransitionError)


@pytest.mark.parametrize(
    "status",
    [
        *others(S.RUNNING, S.DRAFT),
        S.DRAFT,
    ],
)
def test_finish_execution_with_a_next_run_is_refused_unless_running(
    status: CampaignStatus,
) -> None:
    campaign = campaign_in(status)

    assert_refused(
        campaign,
        lambda: campaign.finish_execution(at=LATER, next_run_at=NEXT_RUN),
        InvalidTransitionError,
    )


@pytest.mark.parametrize("status", others(S.RUNNING))
def test_finish_execution_without_a_next_run_is_refused_unless_running(
    status: CampaignStatus,
) -> None:
    campaign = campaign_in(status)

    assert_refused(campaign, lambda: campaign.finish_execution(at=LATER), InvalidTransitionError)


# --- edits ---------------------------------------------------------------------------------------


def renamed(campaign: Campaign, name: str = "Summer sale") -> CampaignSpec:
    return replace(campaign.spec, name=name)


@pytest.mark.parametrize("status", [S.DRAFT, S.PAUSED])
def test_draft_and_paused_campaigns_can_be_edited(status: CampaignStatus) -> None:
    campaign = campaign_in(status)

    campaign.apply_update(renamed(campaign), frozenset({"name"}), by="bob", at=LATER)

    assert campaign.spec.name == "Summer sale"
    assert (campaign.updated_by, campaign.updated_at) == ("bob", LATER)


@pytest.mark.parametrize("status", [S.SCHEDULED, S.ACTIVE, S.RUNNING, S.COMPLETED, S.CANCELLED])
def test_campaign_that_is_not_draft_or_paused_cannot_be_edited(status: CampaignStatus) -> None:
    campaign = campaign_in(status)
    before = copy.deepcopy(campaign)

    with pytest.raises(CampaignNotEditableError) as caught:
        campaign.apply_update(renamed(campaign), frozenset({"name"}), by="bob", at=LATER)

    assert caught.value.reason == "CAMPAIGN_NOT_EDITABLE"
    assert caught.value.metadata == {"status": status.value}
    assert campaign == before


def test_running_campaign_cannot_be_edited() -> None:
    campaign = campaign_in(S.RUNNING)

    with pytest.raises(CampaignNotEditableError):
        campaign.apply_update(renamed(campaign), frozenset({"name"}), by="bob", at=LATER)

    assert campaign.spec.name == "Spring sale"


def test_completed_campaign_cannot_be_edited() -> None:
    campaign = campaign_in(S.COMPLETED)

    with pytest.raises(CampaignNotEditableError):
        campaign.apply_update(renamed(campaign), frozenset({"name"}), by="bob", at=LATER)

    assert campaign.spec.name == "Spring sale"


def test_only_the_named_paths_change() -> None:
    campaign = campaign_in(S.DRAFT)
    new_spec = replace(campaign.spec, name="Summer sale", description="changed", tags=("x",))

    campaign.apply_update(new_spec, frozenset({"description"}), by="bob", at=LATER)

    assert campaign.spec == replace(campaign_in(S.DRAFT).spec, description="changed")


@pytest.mark.parametrize(
    ("path", "value"),
    [
        ("audiences", (Audience("aud-2", SegmentType.INCLUDE, segment_id="seg-2"),)),
        ("variants", (Variant("v-1", "a", 60), Variant("v-2", "b", 40))),
        ("holdout_percentage", 10.0),
    ],
)
def test_paused_mid_execution_locks_audiences_variants_and_holdout(
    path: str, value: object
) -> None:
    campaign = campaign_in(S.PAUSED, paused_from=S.RUNNING)
    before = copy.deepcopy(campaign)

    with pytest.raises(CampaignNotEditableError) as caught:
        campaign.apply_update(
            replace(campaign.spec, **{path: value}), frozenset({path}), by="bob", at=LATER
        )

    assert [(v.type, v.subject) for v in caught.value.violations] == [("LOCKED", path)]
    assert campaign == before


def test_paused_mid_execution_rejects_a_mixed_edit_as_a_whole() -> None:
    campaign = campaign_in(S.PAUSED, paused_from=S.RUNNING)
    new_spec = replace(renamed(campaign), holdout_percentage=10.0, audiences=())

    with pytest.raises(CampaignNotEditableError) as caught:
        campaign.apply_update(
            new_spec,
            frozenset({"name", "holdout_percentage", "audiences"}),
            by="bob",
            at=LATER,
        )

    assert [v.subject for v in caught.value.violations] == ["audiences", "holdout_percentage"]
    assert campaign.spec.name == "Spring sale"


def test_paused_mid_execution_still_allows_renaming() -> None:
    campaign = campaign_in(S.PAUSED, paused_from=S.RUNNING)

    campaign.apply_update(renamed(campaign), frozenset({"name"}), by="bob", at=LATER)

    assert campaign.spec.name == "Summer sale"


def test_paused_while_active_allows_changing_the_audience() -> None:
    campaign = campaign_in(S.PAUSED, paused_from=S.ACTIVE)
    audiences = (Audience("aud-2", SegmentType.INCLUDE, segment_id="seg-2"),)

    campaign.apply_update(
        replace(campaign.spec, audiences=audiences), frozenset({"audiences"}), by="bob", at=LATER
    )

    assert campaign.spec.audiences == audiences


# --- delete, etag --------------------------------------------------------------------------------


def test_running_campaign_cannot_be_deleted() -> None:
    campaign = campaign_in(S.RUNNING)

    with pytest.raises(FailedPreconditionError) as caught:
        campaign.ensure_deletable()

    assert caught.value.metadata == {"status": "running"}


@pytest.mark.parametrize("status", others(S.RUNNING))
def test_campaign_that_is_not_running_can_be_deleted(status: CampaignStatus) -> None:
    assert campaign_in(status).ensure_deletable() is None


def test_etag_follows_the_version() -> None:
    campaign = campaign_in(S.DRAFT)
    first = campaign.etag

    campaign.version = 2

    assert (first, campaign.etag) == ('W/"1"', 'W/"2"')
