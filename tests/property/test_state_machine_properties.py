"""Properties of the campaign lifecycle: whatever callers do, a campaign only ever moves along the
table, final states stay final, and a refused action changes nothing."""

from __future__ import annotations

import copy
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from hypothesis import example, given
from hypothesis import strategies as st

from domain.audience.model import Audience, SegmentType
from domain.campaigns.campaign import Campaign
from domain.campaigns.model import (
    CampaignSpec,
    CampaignStatus,
    CampaignType,
    ChannelContent,
    Schedule,
)
from domain.campaigns.state_machine import FINAL, TRANSITIONS
from domain.kernel.channels import Channel
from domain.kernel.errors import FailedPreconditionError

T0 = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
NEXT_RUN = T0 + timedelta(days=1)

Action = Callable[[Campaign], None]

ACTIONS: dict[str, Action] = {
    "schedule": lambda c: c.schedule_for(Schedule(scheduled_at=NEXT_RUN), NEXT_RUN, by="u", at=T0),
    "unschedule": lambda c: c.unschedule(by="u", at=T0),
    "activate": lambda c: c.activate(by="u", at=T0),
    "pause": lambda c: c.pause(by="u", at=T0),
    "resume": lambda c: c.resume(by="u", at=T0),
    "cancel": lambda c: c.cancel("stop", by="u", at=T0),
    "start": lambda c: c.start_execution(at=T0),
    "finish": lambda c: c.finish_execution(at=T0),
    "finish_with_next_run": lambda c: c.finish_execution(at=T0, next_run_at=NEXT_RUN),
}

action_names = st.lists(st.sampled_from(sorted(ACTIONS)), max_size=40)


def new_campaign(campaign_type: CampaignType) -> Campaign:
    spec = CampaignSpec(
        name="Spring sale",
        campaign_type=campaign_type,
        audiences=(Audience("aud-1", SegmentType.INCLUDE, segment_id="seg-1"),),
        channels=(ChannelContent(Channel.SMS, body="Hi"),),
    )
    return Campaign("cmp-1", "org-1", spec, "u", T0, T0)


def attempt(campaign: Campaign, name: str) -> bool:
    """Run one action; True if it was accepted. Refusals must be domain precondition errors."""
    try:
        ACTIONS[name](campaign)
    except FailedPreconditionError:
        return False
    return True


@given(campaign_type=st.sampled_from(CampaignType), names=action_names)
def test_every_status_change_follows_the_transition_table(
    campaign_type: CampaignType, names: list[str]
) -> None:
    campaign = new_campaign(campaign_type)

    for name in names:
        before = campaign.status
        attempt(campaign, name)

        assert campaign.status in CampaignStatus
        assert campaign.status == before or campaign.status in TRANSITIONS[before]


@given(campaign_type=st.sampled_from(CampaignType), names=action_names)
def test_a_refused_action_changes_nothing(campaign_type: CampaignType, names: list[str]) -> None:
    campaign = new_campaign(campaign_type)

    for name in names:
        before = copy.deepcopy(campaign)
        if not attempt(campaign, name):
            assert campaign == before


@given(
    campaign_type=st.sampled_from(CampaignType),
    names=action_names,
    after_final=st.lists(st.sampled_from(sorted(ACTIONS)), min_size=1, max_size=20),
)
def test_final_states_stay_final(
    campaign_type: CampaignType, names: list[str], after_final: list[str]
) -> None:
    campaign = new_campaign(campaign_type)
    for name in [*names, "cancel"]:
        attempt(campaign, name)
        if campaign.status in FINAL:
            break
    final = copy.deepcopy(campaign)

    accepted = [name for name in after_final if attempt(campaign, name)]

    assert accepted == []
    assert campaign == final


@given(names=action_names)
def test_a_scheduled_type_campaign_is_never_active(names: list[str]) -> None:
    campaign = new_campaign(CampaignType.SCHEDULED)

    for name in names:
        attempt(campaign, name)

        assert campaign.status is not CampaignStatus.ACTIVE


@example(campaign_type=CampaignType.TRIGGERED, names=["activate", "pause", "activate"])
@given(campaign_type=st.sampled_from(CampaignType), names=action_names)
def test_only_a_paused_campaign_remembers_where_it_was_paused_from(
    campaign_type: CampaignType, names: list[str]
) -> None:
    campaign = new_campaign(campaign_type)

    for name in names:
        attempt(campaign, name)

        paused = campaign.status is CampaignStatus.PAUSED
        assert (campaign.paused_from is not None) == paused
        assert (campaign.paused_at is not None) == paused
