"""Proto -> domain for campaign definitions. Shape problems the proto type system cannot express
(unset enums, a content block for the wrong channel, "25:00") become field violations here."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from datetime import time, timedelta

from campaign.v1 import campaign_pb2 as pb
from campaign.v1 import campaign_service_pb2 as svc

from domain.audience.model import Audience, Condition, ConditionOperator, SegmentType
from domain.campaigns import model as m
from domain.kernel.channels import Channel
from domain.kernel.errors import ViolationCollector, shown
from server.mappers import enums
from server.mappers.common import enum_in, from_value, optional_datetime, to_timedelta

_CONTENT_FIELD = {
    Channel.EMAIL: "email",
    Channel.SMS: "sms",
    Channel.WHATSAPP: "whatsapp",
    Channel.IN_APP: "in_app",
    Channel.WEBHOOK: "webhook",
}


SpecMessage = pb.Campaign | svc.CreateCampaignRequest  # both carry the editable fields


def spec_from_proto(
    msg: SpecMessage, v: ViolationCollector, *, require_type: bool = True
) -> m.CampaignSpec:
    campaign_type = enum_in(
        v, "campaign_type", enums.CAMPAIGN_TYPES, msg.campaign_type, required=require_type
    )
    strategy = enum_in(
        v, "channel_strategy", enums.STRATEGIES, msg.channel_strategy, required=False
    )
    return m.CampaignSpec(
        name=msg.name,
        description=msg.description,
        campaign_type=campaign_type or m.CampaignType.SCHEDULED,
        audiences=tuple(_audience(v, f"audiences[{i}]", a) for i, a in enumerate(msg.audiences)),
        channels=tuple(_contents(v, "channels", msg.channels)),
        variants=tuple(_variant(v, f"variants[{i}]", x) for i, x in enumerate(msg.variants)),
        triggers=tuple(_trigger(v, f"triggers[{i}]", t) for i, t in enumerate(msg.triggers)),
        throttle=_throttle(v, msg.throttle) if msg.HasField("throttle") else m.Throttle(),
        holdout_percentage=msg.holdout_percentage,
        conversion=_conversion(v, msg.conversion) if msg.HasField("conversion") else None,
        ab_test=_ab_test(v, msg.ab_test) if msg.HasField("ab_test") else None,
        channel_strategy=strategy or m.ChannelStrategy.FALLBACK,
        tags=tuple(msg.tags),
        metadata=tuple(sorted(msg.metadata.items())),
    )


def conditions_from_proto(
    v: ViolationCollector, path: str, items: list[pb.Condition]
) -> tuple[Condition, ...]:
    out = []
    for i, c in enumerate(items):
        where = f"{path}[{i}]"
        operator = enum_in(v, f"{where}.operator", enums.OPERATORS, c.operator)
        value = from_value(v, f"{where}.value", c.value) if c.HasField("value") else None
        out.append(Condition(c.field, operator or ConditionOperator.EQUALS, value))
    return tuple(out)


def audience_list_from_proto(v: ViolationCollector, items: list[pb.Audience]) -> list[Audience]:
    return [_audience(v, f"audiences[{i}]", a) for i, a in enumerate(items)]


def _audience(v: ViolationCollector, path: str, a: pb.Audience) -> Audience:
    segment_type = enum_in(v, f"{path}.segment_type", enums.SEGMENT_TYPES, a.segment_type)
    source = a.WhichOneof("source")
    return Audience(
        audience_id=a.audience_id,
        segment_type=segment_type or SegmentType.INCLUDE,
        segment_id=a.segment_id if source == "segment_id" else None,
        query=conditions_from_proto(v, f"{path}.query.conditions", list(a.query.conditions))
        if source == "query"
        else (),
        name=a.name,
    )


def _contents(
    v: ViolationCollector, path: str, items: Iterable[pb.ChannelContent]
) -> list[m.ChannelContent]:
    return [_content(v, f"{path}[{i}]", c) for i, c in enumerate(items)]


def _content(v: ViolationCollector, path: str, c: pb.ChannelContent) -> m.ChannelContent:
    channel = enum_in(v, f"{path}.channel", enums.CHANNELS, c.channel) or Channel.EMAIL
    kind = c.WhichOneof("content")
    if kind is not None and kind != _CONTENT_FIELD[channel]:
        v.add(f"{path}.{kind}", f"content block does not match channel {channel.value}")
    if kind is None and not c.template_id:
        v.add(f"{path}.{_CONTENT_FIELD[channel]}", "content or template_id is required")
    base = m.ChannelContent(channel=channel, template_id=c.template_id or None)
    if kind == "email":
        e = c.email
        return _with(
            base,
            subject=e.subject,
            html_body=e.html_body,
            text_body=e.text_body,
            from_name=e.from_name,
            reply_to=e.reply_to,
        )
    if kind in ("sms", "whatsapp"):
        return _with(base, body=getattr(c, kind).body)
    if kind == "in_app":
        return _with(base, title=c.in_app.title, body=c.in_app.body, action_url=c.in_app.action_url)
    if kind == "webhook":
        return _with(
            base,
            url=c.webhook.url,
            body=c.webhook.body,
            headers=tuple(sorted(c.webhook.headers.items())),
        )
    return base


def _with(base: m.ChannelContent, **fields: object) -> m.ChannelContent:
    return replace(base, **fields)  # type: ignore[arg-type]


def _variant(v: ViolationCollector, path: str, x: pb.Variant) -> m.Variant:
    return m.Variant(
        variant_id=x.variant_id,
        name=x.name,
        allocation_percentage=x.allocation_percentage,
        is_control=x.is_control,
        channels=tuple(_contents(v, f"{path}.channels", x.channels)),
    )


def _trigger(v: ViolationCollector, path: str, t: pb.Trigger) -> m.Trigger:
    return m.Trigger(
        event_type=t.event_type,
        trigger_id=t.trigger_id,
        conditions=conditions_from_proto(v, f"{path}.conditions", list(t.conditions)),
        delay=to_timedelta(t, "delay", timedelta(0)),
        frequency_limit=t.frequency_limit if t.HasField("frequency_limit") else 1,
        frequency_window=to_timedelta(t, "frequency_window", timedelta(hours=24)),
    )


def _clock_time(v: ViolationCollector, path: str, text: str, default: time) -> time:
    if not text:
        return default
    try:
        hours, minutes = text.split(":")
        return time(int(hours), int(minutes))
    except ValueError:
        v.add(path, f"use 24-hour HH:MM, got {shown(text)}")
        return default


def _throttle(v: ViolationCollector, t: pb.Throttle) -> m.Throttle:
    quiet = m.QuietHours()
    if t.HasField("quiet_hours"):
        q = t.quiet_hours
        quiet = m.QuietHours(
            enabled=q.enabled if q.HasField("enabled") else True,
            start=_clock_time(v, "throttle.quiet_hours.start", q.start, quiet.start),
            end=_clock_time(v, "throttle.quiet_hours.end", q.end, quiet.end),
        )
    return m.Throttle(
        per_minute=t.per_minute if t.HasField("per_minute") else None,
        per_hour=t.per_hour if t.HasField("per_hour") else None,
        quiet_hours=quiet,
        exclude_weekends=t.exclude_weekends,
    )


def _conversion(v: ViolationCollector, c: pb.Conversion) -> m.Conversion:
    model = enum_in(
        v,
        "conversion.attribution_model",
        enums.ATTRIBUTION_MODELS,
        c.attribution_model,
        required=False,
    )
    return m.Conversion(
        event_type=c.event_type,
        attribution_window_days=c.attribution_window_days
        if c.HasField("attribution_window_days")
        else m.DEFAULT_ATTRIBUTION_WINDOW_DAYS,
        attribution_model=model or m.AttributionModel.LAST_TOUCH,
    )


def _ab_test(v: ViolationCollector, a: pb.AbTest) -> m.AbTest:
    defaults = m.AbTest()
    return m.AbTest(
        auto_winner_enabled=a.auto_winner_enabled,
        auto_winner_metric=enum_in(
            v, "ab_test.auto_winner_metric", enums.METRICS, a.auto_winner_metric, required=False
        ),
        confidence=a.confidence if a.HasField("confidence") else defaults.confidence,
        min_sample_per_variant=a.min_sample_per_variant
        if a.HasField("min_sample_per_variant")
        else defaults.min_sample_per_variant,
    )


def schedule_from_proto(v: ViolationCollector, msg: svc.ScheduleCampaignRequest) -> m.Schedule:
    kind = msg.WhichOneof("schedule")
    if kind == "scheduled_at":
        return m.Schedule(scheduled_at=optional_datetime(msg, "scheduled_at"))
    if kind == "cron":
        c = msg.cron
        return m.Schedule(
            cron=m.CronSchedule(
                expression=c.expression,
                timezone=c.timezone or "UTC",
                start_at=optional_datetime(c, "start_at"),
                end_at=optional_datetime(c, "end_at"),
            )
        )
    v.add("schedule", "one of scheduled_at or cron is required")
    return m.Schedule()
