"""Domain -> proto for campaigns."""

from __future__ import annotations

from collections.abc import Iterable

from campaign.v1 import campaign_pb2 as pb

from domain.audience.model import Audience, Condition
from domain.campaigns import model as m
from domain.campaigns.campaign import Campaign
from domain.kernel.channels import Channel
from server.mappers import enums
from server.mappers.common import set_duration, set_timestamp, to_value


def campaign_to_proto(c: Campaign) -> pb.Campaign:
    s = c.spec
    out = pb.Campaign(
        campaign_id=c.campaign_id,
        organization_id=c.organization_id,
        name=s.name,
        description=s.description,
        campaign_type=enums.CAMPAIGN_TYPES_OUT[s.campaign_type],
        status=enums.STATUSES_OUT[c.status],
        holdout_percentage=s.holdout_percentage,
        channel_strategy=enums.STRATEGIES_OUT[s.channel_strategy],
        tags=list(s.tags),
        metadata=dict(s.metadata),
        etag=c.etag,
        created_by=c.created_by,
        updated_by=c.updated_by,
        cloned_from_id=c.cloned_from_id or "",
        winner_variant_id=c.winner_variant_id or "",
        cancel_reason=c.cancel_reason,
    )
    out.audiences.extend(audience_to_proto(a) for a in s.audiences)
    out.channels.extend(contents_to_proto(s.channels))
    out.variants.extend(_variant(v) for v in s.variants)
    out.triggers.extend(_trigger(t) for t in s.triggers)
    out.throttle.CopyFrom(_throttle(s.throttle))
    if s.conversion is not None:
        out.conversion.CopyFrom(_conversion(s.conversion))
    if s.ab_test is not None:
        out.ab_test.CopyFrom(_ab_test(s.ab_test))
    if c.schedule is not None:
        out.schedule.CopyFrom(schedule_to_proto(c.schedule))
    for name in (
        "next_run_at",
        "created_at",
        "updated_at",
        "activated_at",
        "paused_at",
        "completed_at",
        "cancelled_at",
    ):
        set_timestamp(getattr(out, name), getattr(c, name))
    return out


def conditions_to_proto(items: Iterable[Condition]) -> list[pb.Condition]:
    out = []
    for c in items:
        condition = pb.Condition(field=c.field, operator=enums.OPERATORS_OUT[c.operator])
        value = to_value(c.value)
        if value is not None:
            condition.value.CopyFrom(value)
        out.append(condition)
    return out


def audience_to_proto(a: Audience) -> pb.Audience:
    out = pb.Audience(
        audience_id=a.audience_id, segment_type=enums.SEGMENT_TYPES_OUT[a.segment_type], name=a.name
    )
    if a.segment_id:
        out.segment_id = a.segment_id
    else:
        out.query.conditions.extend(conditions_to_proto(a.query))
    return out


def contents_to_proto(items: Iterable[m.ChannelContent]) -> list[pb.ChannelContent]:
    return [_content(c) for c in items]


def _content(c: m.ChannelContent) -> pb.ChannelContent:
    out = pb.ChannelContent(channel=enums.CHANNELS_OUT[c.channel], template_id=c.template_id or "")
    if c.channel is Channel.EMAIL:
        out.email.CopyFrom(
            pb.EmailContent(
                subject=c.subject,
                html_body=c.html_body,
                text_body=c.text_body,
                from_name=c.from_name,
                reply_to=c.reply_to,
            )
        )
    elif c.channel is Channel.SMS:
        out.sms.CopyFrom(pb.SmsContent(body=c.body))
    elif c.channel is Channel.WHATSAPP:
        out.whatsapp.CopyFrom(pb.WhatsAppContent(body=c.body))
    elif c.channel is Channel.IN_APP:
        out.in_app.CopyFrom(pb.InAppContent(title=c.title, body=c.body, action_url=c.action_url))
    else:
        out.webhook.CopyFrom(pb.WebhookContent(url=c.url, body=c.body, headers=dict(c.headers)))
    return out


def _variant(v: m.Variant) -> pb.Variant:
    out = pb.Variant(
        variant_id=v.variant_id,
        name=v.name,
        allocation_percentage=v.allocation_percentage,
        is_control=v.is_control,
    )
    out.channels.extend(contents_to_proto(v.channels))
    return out


def _trigger(t: m.Trigger) -> pb.Trigger:
    out = pb.Trigger(
        trigger_id=t.trigger_id, event_type=t.event_type, frequency_limit=t.frequency_limit
    )
    out.conditions.extend(conditions_to_proto(t.conditions))
    set_duration(out.delay, t.delay)
    set_duration(out.frequency_window, t.frequency_window)
    return out


def _throttle(t: m.Throttle) -> pb.Throttle:
    q = t.quiet_hours
    return pb.Throttle(
        exclude_weekends=t.exclude_weekends,
        per_minute=t.per_minute,  # None leaves the optional field unset
        per_hour=t.per_hour,
        quiet_hours=pb.QuietHours(
            enabled=q.enabled,
            start=f"{q.start.hour:02d}:{q.start.minute:02d}",
            end=f"{q.end.hour:02d}:{q.end.minute:02d}",
        ),
    )


def _conversion(c: m.Conversion) -> pb.Conversion:
    return pb.Conversion(
        event_type=c.event_type,
        attribution_window_days=c.attribution_window_days,
        attribution_model=enums.ATTRIBUTION_MODELS_OUT[c.attribution_model],
    )


def _ab_test(a: m.AbTest) -> pb.AbTest:
    out = pb.AbTest(
        auto_winner_enabled=a.auto_winner_enabled,
        confidence=a.confidence,
        min_sample_per_variant=a.min_sample_per_variant,
    )
    if a.auto_winner_metric is not None:
        out.auto_winner_metric = enums.METRICS_OUT[a.auto_winner_metric]
    return out


def schedule_to_proto(s: m.Schedule) -> pb.Schedule:
    out = pb.Schedule()
    if s.scheduled_at is not None:
        set_timestamp(out.scheduled_at, s.scheduled_at)
    elif s.cron is not None:
        out.cron.CopyFrom(pb.CronSchedule(expression=s.cron.expression, timezone=s.cron.timezone))
        set_timestamp(out.cron.start_at, s.cron.start_at)
        set_timestamp(out.cron.end_at, s.cron.end_at)
    return out
