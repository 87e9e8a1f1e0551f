"""EstimateAudience's ETA follows the recipients' time zones and the limits, as a run does, and
its reach lists only the campaign's channels."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import grpc
import pytest
from campaign.v1 import audience_service_pb2 as asvc
from campaign.v1 import campaign_pb2 as pb

from tests.e2e.engine_helpers import AudienceApi, contact
from tests.e2e.helpers import CampaignApi, email, mint_token, scheduled_request

pytestmark = pytest.mark.e2e

EMAIL_SPACING = 0.36  # seconds: the default 10,000 emails per hour of the organization
SLACK = timedelta(seconds=30)


@pytest.fixture
def audience(channel: grpc.Channel, org: str) -> AudienceApi:
    return AudienceApi(channel, mint_token(org))


def zone_at_local_hour(hour: int) -> ZoneInfo:
    """A fixed-offset zone (Etc/GMT±n) whose local time is now within `hour`:00-`hour`:59."""
    now = datetime.now(UTC)
    for offset in range(-12, 15):
        name = "Etc/GMT" if offset == 0 else f"Etc/GMT{-offset:+d}"  # POSIX: the sign flips
        tz = ZoneInfo(name)
        if now.astimezone(tz).hour == hour:
            return tz
    raise AssertionError(f"no whole-hour zone is at {hour}:00 now")


def cohort(audience: AudienceApi, tag: str, tz: ZoneInfo, size: int = 3) -> pb.Audience:
    """`size` email contacts living in `tz`, and an include audience of exactly them."""
    audience.upsert(
        *(
            contact(f"{tag}-{n}", timezone=str(tz), phone="+1415555010" + str(n),
                    sms_opted_in=True, attributes={"cohort": tag})
            for n in range(size)
        )
    )  # fmt: skip
    condition = pb.Condition(field="cohort", operator=pb.CONDITION_OPERATOR_EQUALS)
    condition.value.string_value = tag
    return pb.Audience(
        segment_type=pb.SEGMENT_TYPE_INCLUDE, query=pb.SegmentQuery(conditions=[condition])
    )


def estimate(audience: AudienceApi, campaign: pb.Campaign) -> asvc.EstimateAudienceResponse:
    return audience.estimate(campaign_id=campaign.campaign_id)


def eight_o_clock_after(at: datetime, tz: ZoneInfo) -> datetime:
    local = at.astimezone(tz)
    morning = local.replace(hour=8, minute=0, second=0, microsecond=0)
    return morning if morning > local else morning + timedelta(days=1)


def test_recipients_in_their_night_are_estimated_to_get_their_message_in_their_morning(
    api: CampaignApi, audience: AudienceApi
):
    night = zone_at_local_hour(2)  # inside the default quiet hours, 21:00-08:00
    campaign = api.create(
        scheduled_request("Night owls", audiences=[cohort(audience, "night", night)])
    )

    answer = estimate(audience, campaign)

    at = answer.estimated_at.ToDatetime(tzinfo=UTC)
    eta = answer.estimated_completion.ToTimedelta()
    expected = eight_o_clock_after(at, night) - at + timedelta(seconds=3 * EMAIL_SPACING)
    assert answer.estimated_size == 3
    assert abs(eta - expected) < SLACK


def test_recipients_in_their_day_are_estimated_by_the_limits_alone(
    api: CampaignApi, audience: AudienceApi
):
    day = zone_at_local_hour(11)
    throttled = scheduled_request(
        "Day, throttled",
        audiences=[cohort(audience, "day", day)],
        throttle=pb.Throttle(per_hour=60),  # a minute per message: the tightest limit
    )
    campaign = api.create(throttled)

    eta = estimate(audience, campaign).estimated_completion.ToTimedelta()

    assert eta == timedelta(minutes=3)


def test_quiet_hours_off_sends_at_night_by_the_limits(api: CampaignApi, audience: AudienceApi):
    night = zone_at_local_hour(2)
    campaign = api.create(
        scheduled_request(
            "Night, no quiet hours",
            audiences=[cohort(audience, "allnight", night)],
            throttle=pb.Throttle(quiet_hours=pb.QuietHours(enabled=False)),
        )
    )

    eta = estimate(audience, campaign).estimated_completion.ToTimedelta()

    assert eta == timedelta(seconds=3 * EMAIL_SPACING)


def test_reach_lists_only_the_campaign_s_channels(api: CampaignApi, audience: AudienceApi):
    everyone = cohort(audience, "reach", zone_at_local_hour(11))
    email_only = api.create(scheduled_request("Email only", audiences=[everyone]))
    email_and_sms = api.create(
        scheduled_request(
            "Email, then SMS",
            audiences=[everyone],
            channels=[
                email(),
                pb.ChannelContent(channel=pb.CHANNEL_SMS, sms=pb.SmsContent(body="Hi")),
            ],
        )
    )

    only_email = estimate(audience, email_only).reachable_by_channel
    both = estimate(audience, email_and_sms).reachable_by_channel
    by_audiences = audience.estimate(audiences=[everyone]).reachable_by_channel

    assert {(r.channel, r.size) for r in only_email} == {(pb.CHANNEL_EMAIL, 3)}
    assert {(r.channel, r.size) for r in both} == {(pb.CHANNEL_EMAIL, 3), (pb.CHANNEL_SMS, 3)}
    assert len(by_audiences) == len(pb.Channel.values()) - 1  # no campaign: every channel
