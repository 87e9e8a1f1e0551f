"""Test data for the contract suites: a campaign with every field set, small ones, events, clock."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta, timezone

from domain.audience.model import Audience, Condition, ConditionOperator, SegmentType
from domain.campaigns.campaign import Campaign
from domain.campaigns.model import (
    AbTest,
    AttributionModel,
    CampaignSpec,
    CampaignStatus,
    CampaignType,
    ChannelContent,
    ChannelStrategy,
    Conversion,
    CronSchedule,
    ExperimentMetric,
    QuietHours,
    Schedule,
    Throttle,
    Trigger,
    Variant,
)
from domain.kernel.channels import Channel
from domain.kernel.events import DomainEvent
from tests.support.compliance import FOOTER

T0 = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)
ORG, OTHER_ORG = "org-a", "org-b"


@dataclass
class FixedClock:
    """Time stands still unless a test moves it, so timestamps are exact expectations."""

    current: datetime = T0

    def now(self) -> datetime:
        return self.current

    def advance(self, delta: timedelta) -> None:
        self.current += delta


@dataclass
class SequentialIds:
    prefix: str = "id"
    issued: list[str] = field(default_factory=list)

    def new_id(self) -> str:
        self.issued.append(f"{self.prefix}-{len(self.issued) + 1:04d}")
        return self.issued[-1]


def rich_spec(name: str = "Spring launch") -> CampaignSpec:
    """Every field away from its default, and valid, so the use cases accept it too."""
    return CampaignSpec(
        name=name,
        campaign_type=CampaignType.TRIGGERED,
        description='Launch with ünïcode ✓ and "quotes"',
        audiences=(
            Audience(
                "aud-1",
                SegmentType.INCLUDE,
                query=(
                    Condition("country", ConditionOperator.EQUALS, "DE"),
                    Condition("age", ConditionOperator.GREATER_THAN, 21.5),
                    Condition("vip", ConditionOperator.EQUALS, True),
                ),
                name="Adults in DE",
            ),
            Audience("aud-2", SegmentType.EXCLUDE, segment_id="seg-churned", name="Churned"),
        ),
        channels=(
            ChannelContent(
                Channel.EMAIL,
                subject="Hi {{ first_name }}",
                html_body="<p>Hello</p>" + FOOTER,
                text_body="Hello",
                from_name="Shop",
                reply_to="help@example.com",
            ),
            ChannelContent(
                Channel.WEBHOOK,
                url="https://hooks.example.com/x",
                body='{"a": 1}',
                headers=(("X-Key", "abc"), ("X-Other", "d")),
            ),
        ),
        variants=(
            Variant("var-a", "A", 45.5, channels=(ChannelContent(Channel.SMS, body="Hi A"),)),
            Variant(
                "var-b",
                "B",
                44.5,
                channels=(
                    ChannelContent(Channel.IN_APP, title="T", body="B", action_url="https://x.io"),
                    ChannelContent(Channel.EMAIL, template_id="tpl-9"),
                ),
            ),
            Variant("var-c", "Control", 10.0, is_control=True),
        ),
        triggers=(
            Trigger(
                "cart.abandoned",
                "trg-1",
                conditions=(Condition("cart_value", ConditionOperator.GREATER_THAN, 50.0),),
                delay=timedelta(minutes=30, microseconds=5),
                frequency_limit=3,
                frequency_window=timedelta(days=7),
            ),
        ),
        throttle=Throttle(
            per_minute=100,
            per_hour=5000,
            quiet_hours=QuietHours(True, time(22, 30), time(7, 15)),
            exclude_weekends=True,
        ),
        holdout_percentage=5.25,
        conversion=Conversion("order.completed", 14, AttributionModel.FIRST_TOUCH),
        ab_test=AbTest(True, ExperimentMetric.CLICK_RATE, 0.99, 2000),
        channel_strategy=ChannelStrategy.ALL,
        tags=("spring", "vip", "q2/launch"),
        metadata=(("owner", "growth"), ("cost_center", "42")),
    )


def rich_campaign(campaign_id: str = "c-rich", organization_id: str = ORG) -> Campaign:
    """Every aggregate field set, instants in two offsets and with microseconds."""
    berlin = timezone(timedelta(hours=1))
    return Campaign(
        campaign_id=campaign_id,
        organization_id=organization_id,
        spec=rich_spec(),
        created_by="alice",
        created_at=T0,
        updated_at=T0 + timedelta(hours=1, microseconds=123_456),
        updated_by="bob",
        status=CampaignStatus.PAUSED,
        version=7,
        schedule=Schedule(
            cron=CronSchedule(
                "0 9 * * MON",
                "Europe/Berlin",
                start_at=datetime(2030, 2, 1, 9, 0, tzinfo=berlin),
                end_at=datetime(2030, 12, 31, 23, 59, 59, 999_999, tzinfo=UTC),
            )
        ),
        next_run_at=datetime(2030, 2, 3, 8, 0, tzinfo=UTC),
        cloned_from_id="c-origin",
        request_id="req-rich",
        request_fingerprint="f" * 64,
        paused_from=CampaignStatus.RUNNING,
        winner_variant_id="var-b",
        cancel_reason="not cancelled (yet)",
        activated_at=T0 + timedelta(minutes=5),
        paused_at=datetime(2030, 1, 1, 14, 0, tzinfo=berlin),
        completed_at=T0 + timedelta(days=1),
        cancelled_at=T0 + timedelta(days=2),
    )


def campaign(
    campaign_id: str,
    *,
    organization_id: str = ORG,
    name: str | None = None,
    campaign_type: CampaignType = CampaignType.SCHEDULED,
    status: CampaignStatus = CampaignStatus.DRAFT,
    created_at: datetime = T0,
    updated_at: datetime | None = None,
    tags: tuple[str, ...] = (),
    channels: tuple[Channel, ...] = (),
    variant_channels: tuple[Channel, ...] = (),
    next_run_at: datetime | None = None,
    request_id: str | None = None,
) -> Campaign:
    """A small campaign with just the fields the list filters and sorts look at."""
    variants: tuple[Variant, ...] = ()
    if variant_channels:
        variants = (
            Variant("v1", "A", 50.0, channels=tuple(ChannelContent(c) for c in variant_channels)),
            Variant("v2", "B", 50.0, is_control=True),
        )
    spec = CampaignSpec(
        name=name or f"Campaign {campaign_id}",
        campaign_type=campaign_type,
        channels=tuple(ChannelContent(c) for c in channels),
        variants=variants,
        tags=tags,
    )
    return Campaign(
        campaign_id=campaign_id,
        organization_id=organization_id,
        spec=spec,
        created_by="alice",
        created_at=created_at,
        updated_at=updated_at or created_at,
        status=status,
        next_run_at=next_run_at,
        request_id=request_id,
    )


def event(number: int, organization_id: str = ORG) -> DomainEvent:
    return DomainEvent(
        event_id=f"evt-{number:04d}",
        event_type="campaign.updated",
        organization_id=organization_id,
        occurred_at=T0 + timedelta(seconds=number, microseconds=number),
        data={"campaign_id": f"c-{number}", "changed_fields": ["name", "tags"], "n": number},
    )
