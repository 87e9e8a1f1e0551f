"""Value objects and enums that make up a campaign definition.

They mirror the `campaign.v1` contract closely on purpose (same names, same units) so that the
proto mapping in `server/mappers` is a plain field copy; every rule lives in
`domain/campaigns/rules.py`.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta

from domain.audience.model import Audience, Condition
from domain.kernel.channels import Channel


class CampaignType(enum.StrEnum):
    SCHEDULED = "scheduled"
    TRIGGERED = "triggered"
    TRANSACTIONAL = "transactional"


class CampaignStatus(enum.StrEnum):
    DRAFT = "draft"
    SCHEDULED = "scheduled"
    ACTIVE = "active"
    RUNNING = "running"
    PAUSED = "paused"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


class ChannelStrategy(enum.StrEnum):
    """How a recipient's channels are used (BR-CAM-003.3)."""

    FALLBACK = "fallback"  # the first eligible channel, in the configured order
    ALL = "all"  # every eligible channel


class AttributionModel(enum.StrEnum):
    LAST_TOUCH = "last_touch"
    FIRST_TOUCH = "first_touch"
    LINEAR = "linear"  # every message in the window, the value split equally (docs/conversions.md)


class ExperimentMetric(enum.StrEnum):
    OPEN_RATE = "open_rate"
    CLICK_RATE = "click_rate"
    CONVERSION_RATE = "conversion_rate"


@dataclass(frozen=True, slots=True)
class ChannelContent:
    """Content for one channel; which fields apply depends on the channel.

    email: subject, html_body, text_body, from_name, reply_to; sms and whatsapp: body;
    in_app: title, body, action_url; webhook: url, body (a JSON template), headers.
    A `template_id` defers the content to the creative service (BR-CAM-008.1).
    """

    channel: Channel
    template_id: str | None = None
    subject: str = ""
    html_body: str = ""
    text_body: str = ""
    from_name: str = ""
    reply_to: str = ""
    body: str = ""
    title: str = ""
    action_url: str = ""
    url: str = ""
    headers: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class Variant:
    """An A/B arm. A control variant sends nothing and measures the baseline (BR-CAM-004.7)."""

    variant_id: str
    name: str
    allocation_percentage: float
    is_control: bool = False
    channels: tuple[ChannelContent, ...] = ()


@dataclass(frozen=True, slots=True)
class Trigger:
    event_type: str
    trigger_id: str
    conditions: tuple[Condition, ...] = ()
    delay: timedelta = timedelta(0)
    frequency_limit: int = 1
    frequency_window: timedelta = timedelta(hours=24)


@dataclass(frozen=True, slots=True)
class QuietHours:
    """A daily window, in the recipient's local time, in which nothing is sent (TCPA)."""

    enabled: bool = True
    start: time = time(21, 0)
    end: time = time(8, 0)


@dataclass(frozen=True, slots=True)
class Throttle:
    """Campaign-level limits; they can only lower the organization and channel limits."""

    per_minute: int | None = None
    per_hour: int | None = None
    quiet_hours: QuietHours = field(default_factory=QuietHours)
    exclude_weekends: bool = False


DEFAULT_ATTRIBUTION_WINDOW_DAYS = 7


@dataclass(frozen=True, slots=True)
class Conversion:
    event_type: str
    attribution_window_days: int = DEFAULT_ATTRIBUTION_WINDOW_DAYS
    attribution_model: AttributionModel = AttributionModel.LAST_TOUCH


@dataclass(frozen=True, slots=True)
class AbTest:
    auto_winner_enabled: bool = False
    auto_winner_metric: ExperimentMetric | None = None
    confidence: float = 0.95
    min_sample_per_variant: int = 1000


@dataclass(frozen=True, slots=True)
class CronSchedule:
    expression: str
    timezone: str = "UTC"
    start_at: datetime | None = None
    end_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Schedule:
    """Exactly one of a one-time instant or a recurrence."""

    scheduled_at: datetime | None = None
    cron: CronSchedule | None = None


@dataclass(frozen=True, slots=True)
class CampaignSpec:
    """Everything a marketer edits; the aggregate adds identity, status and history around it."""

    name: str
    campaign_type: CampaignType
    description: str = ""
    audiences: tuple[Audience, ...] = ()
    channels: tuple[ChannelContent, ...] = ()
    variants: tuple[Variant, ...] = ()
    triggers: tuple[Trigger, ...] = ()
    throttle: Throttle = field(default_factory=Throttle)
    holdout_percentage: float = 0.0
    conversion: Conversion | None = None
    ab_test: AbTest | None = None
    channel_strategy: ChannelStrategy = ChannelStrategy.FALLBACK
    tags: tuple[str, ...] = ()
    metadata: tuple[tuple[str, str], ...] = ()


# Fields of CampaignSpec a client may name in an update mask.
MUTABLE_SPEC_FIELDS: frozenset[str] = frozenset(
    {
        "name",
        "description",
        "audiences",
        "channels",
        "variants",
        "triggers",
        "throttle",
        "holdout_percentage",
        "conversion",
        "ab_test",
        "channel_strategy",
        "tags",
        "metadata",
    }
)

# Fields frozen once an execution is in flight (the audience and arms must not move under it).
EXECUTION_LOCKED_FIELDS: frozenset[str] = frozenset({"audiences", "variants", "holdout_percentage"})
