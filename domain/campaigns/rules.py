"""Business rules for a campaign definition (BR-CAM-001..008), reported as field violations.

`validate_spec` checks shape and limits on every create and update, so bad input never reaches
storage. `readiness_problems` checks completeness, which a draft may lack until it is launched.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from datetime import timedelta

from domain.audience.conditions import MAX_FIELD, check_conditions
from domain.audience.model import Audience, SegmentType
from domain.campaigns.model import (
    AbTest,
    CampaignSpec,
    CampaignType,
    ChannelContent,
    Conversion,
    Throttle,
    Trigger,
    Variant,
)
from domain.campaigns.rendering import TemplateSyntaxProblem, compile_text, is_plain, text_mode
from domain.campaigns.webhooks import check_webhook
from domain.kernel.channels import Channel
from domain.kernel.errors import PreconditionViolation, ValidationError, ViolationCollector, shown

MAX_NAME = 255
MAX_DESCRIPTION = 2000
MAX_SEGMENTS = 10  # BR-CAM-002.6
MIN_VARIANTS, MAX_VARIANTS = 2, 5  # BR-CAM-004.1
MAX_TRIGGERS = 10  # event types one campaign listens to; each is evaluated on every event
MAX_ID = 128  # client-chosen ids: audience_id, variant_id, trigger_id, template_id
SMS_MAX, WHATSAPP_MAX = 160, 1600  # BR-CAM-003 channel formats
MAX_HOLDOUT = 20.0
MAX_TRIGGER_DELAY = timedelta(days=30)  # BR-CAM-007.4
MAX_FREQUENCY_WINDOW = timedelta(days=365)
ATTRIBUTION_DAYS = range(1, 31)  # BR-CAM-005.3
MIN_AUTO_WINNER_SAMPLE = 1000  # BR-CAM-004.6
CONFIDENCE_RANGE = (0.8, 0.999)
MAX_TAGS, MAX_TAG = 20, 64
MAX_METADATA, MAX_METADATA_KEY, MAX_METADATA_VALUE = 50, 64, 1024
BASIS_POINTS = 10_000

# Content sizes, in characters of the template source, per field (docs/limits.md says why).
# Every recipient's message keeps its rendered copy, so these bound storage per message too.
CONTENT_LIMITS: dict[Channel, dict[str, int]] = {
    Channel.EMAIL: {
        "subject": 998,  # RFC 5322's line limit: a longer header must be folded
        "html_body": 102_400,  # Gmail clips HTML beyond ~102 KB; no client shows more
        "text_body": 65_536,
        "from_name": 255,
        "reply_to": 254,  # RFC 5321's longest address
    },
    Channel.SMS: {"body": SMS_MAX},
    Channel.WHATSAPP: {"body": WHATSAPP_MAX},
    Channel.IN_APP: {"title": 255, "body": 4_096, "action_url": 2_048},
    Channel.WEBHOOK: {"url": 2_048, "body": 65_536},
}

TEXT_FIELDS = (
    "subject",
    "html_body",
    "text_body",
    "from_name",
    "reply_to",
    "body",
    "title",
    "action_url",
    "url",
)
_CONTENT_BLOCK = {
    Channel.EMAIL: "email",
    Channel.SMS: "sms",
    Channel.WHATSAPP: "whatsapp",
    Channel.IN_APP: "in_app",
    Channel.WEBHOOK: "webhook",
}


def content_block(channel: Channel) -> str:
    """The name of a channel's content in field paths, e.g. `channels[0].email.subject`."""
    return _CONTENT_BLOCK[channel]


def basis_points(percentage: float) -> int | None:
    """Percent with at most two decimals as exact basis points, or None if it has more."""
    scaled = percentage * 100
    if not math.isfinite(scaled):
        return None
    rounded = round(scaled)
    return rounded if abs(scaled - rounded) < 1e-6 else None


def validate_spec(spec: CampaignSpec) -> None:
    """Raise ValidationError listing every rule the definition breaks; return if it is valid."""
    v = ViolationCollector(error=ValidationError)
    _check_text(v, "name", spec.name, MAX_NAME, required=True)
    _check_text(v, "description", spec.description, MAX_DESCRIPTION)
    _check_audiences(v, spec.audiences)
    _check_contents(v, "channels", spec.channels)
    _check_variants(v, spec.variants)
    _check_triggers(v, spec)
    _check_throttle(v.nested("throttle"), spec.throttle)
    _check_holdout(v, spec.holdout_percentage)
    if spec.conversion is not None:
        _check_conversion(v.nested("conversion"), spec.conversion)
    if spec.ab_test is not None:
        _check_ab_test(v, spec.ab_test, spec.variants)
    _check_tags(v, spec.tags)
    _check_metadata(v, spec.metadata)
    v.raise_if_any()


def readiness_problems(spec: CampaignSpec) -> list[PreconditionViolation]:
    """What a campaign still lacks before it may be scheduled or activated (BR-CAM-001.1-4)."""
    problems: list[PreconditionViolation] = []
    needs_audience = spec.campaign_type is not CampaignType.TRANSACTIONAL
    if needs_audience and not any(a.segment_type is SegmentType.INCLUDE for a in spec.audiences):
        problems.append(_missing("audiences", "at least one include segment is required"))
    if spec.campaign_type is CampaignType.TRIGGERED and not spec.triggers:
        problems.append(_missing("triggers", "a triggered campaign needs at least one trigger"))
    arms = [(i, v.channels) for i, v in enumerate(spec.variants) if not v.is_control]
    # Arms without channels of their own inherit the campaign's: check those once, as `channels`.
    groups = [(f"variants[{i}].channels", own) for i, own in arms if own or not spec.channels]
    if not arms or (spec.channels and any(not own for _, own in arms)):
        groups.append(("channels", spec.channels))
    for subject, contents in groups:
        if not contents:
            problems.append(_missing(subject, "at least one channel with content is required"))
        for content in contents:
            gap = _content_gap(content)
            if gap:
                problems.append(_missing(f"{subject}.{content.channel.value}", gap))
    return problems


def _missing(subject: str, description: str) -> PreconditionViolation:
    return PreconditionViolation("INCOMPLETE", subject, description)


def _content_gap(c: ChannelContent) -> str | None:
    """BR-CAM-001.2: content present for the channel, unless a creative template supplies it."""
    if c.template_id:
        return None
    needed = {
        Channel.EMAIL: (
            "subject",
            "html_body or text_body",
            c.subject and (c.html_body or c.text_body),
        ),
        Channel.SMS: ("body", None, c.body),
        Channel.WHATSAPP: ("body", None, c.body),
        Channel.IN_APP: ("title", "body", c.title and c.body),
        Channel.WEBHOOK: ("url", None, c.url),
    }[c.channel]
    first, second, present = needed
    if present:
        return None
    return f"{c.channel.value} content needs {first}" + (f" and {second}" if second else "")


def _check_text(
    v: ViolationCollector, path: str, value: str, limit: int, *, required: bool = False
) -> None:
    if required and not value.strip():
        v.add(path, "is required")
    elif len(value) > limit:
        v.add(path, f"must be at most {limit} characters (got {len(value)})")


def _check_audiences(v: ViolationCollector, audiences: Sequence[Audience]) -> None:
    check_audience_list(v, audiences)


def check_audience_list(v: ViolationCollector, audiences: Sequence[Audience]) -> None:
    """BR-CAM-002.6 and each audience's shape; EstimateAudience checks the same (a list of more
    than 10 would be refused at launch, so estimating it only costs the database)."""
    if len(audiences) > MAX_SEGMENTS:
        v.add(
            "audiences",
            f"at most {MAX_SEGMENTS} segments (include and exclude) per campaign "
            f"(got {len(audiences)})",
        )
        return  # checking each of 20,000 audiences would only list the same problem again
    for i, audience in enumerate(audiences):
        path = f"audiences[{i}]"
        has_segment, has_query = bool(audience.segment_id), bool(audience.query)
        if has_segment == has_query:
            v.add(path, "exactly one of segment_id or query is required")
        if has_segment and len(audience.segment_id or "") > MAX_FIELD:
            v.add(f"{path}.segment_id", f"must be at most {MAX_FIELD} characters")
        _check_text(v, f"{path}.audience_id", audience.audience_id, MAX_ID)
        _check_text(v, f"{path}.name", audience.name, MAX_NAME)
        check_conditions(v, f"{path}.query.conditions", audience.query)


def _check_contents(v: ViolationCollector, path: str, contents: Sequence[ChannelContent]) -> None:
    if len(contents) > len(Channel):
        v.add(path, f"at most one content per channel ({len(Channel)}; got {len(contents)})")
        return
    seen: set[Channel] = set()
    for i, content in enumerate(contents):
        where = f"{path}[{i}]"
        if content.channel in seen:
            v.add(f"{where}.channel", f"{content.channel.value} appears more than once")
        seen.add(content.channel)
        if _check_content_limits(v, where, content):
            _check_template_syntax(v, where, content)


# Longest text validate_spec may check on the caller's thread (see validates_cheaply).
MAX_INLINE_TEXT = 20_000


def validates_cheaply(spec: CampaignSpec) -> bool:
    """Whether validate_spec has no template to compile or trial-render: every text of every
    content is plain (rendering.is_plain) and short. Then it is microseconds of checks, which
    an async caller runs in place, where a thread hop cost more than the checks themselves;
    any other definition is validated off the event loop (docs/rendering.md)."""
    contents = [*spec.channels, *(c for variant in spec.variants for c in variant.channels)]
    if len(contents) > len(Channel) * (len(spec.variants) + 1):
        return False  # too many to look at here: validate_spec refuses them, off the loop
    for content in contents:
        for name in TEXT_FIELDS:
            text = getattr(content, name)
            if text and (len(text) > MAX_INLINE_TEXT or not is_plain(text)):
                return False
    return True


def template_problems(content: ChannelContent) -> list[str]:
    """Syntax errors of a content's texts, e.g. of a template fetched from the creative service."""
    v = ViolationCollector()
    _check_template_syntax(v, "", content)
    return [f"{x.field.lstrip('.')}: {x.description}" for x in v.violations]


def _check_template_syntax(v: ViolationCollector, where: str, c: ChannelContent) -> None:
    block = _CONTENT_BLOCK[c.channel]
    for name in TEXT_FIELDS:
        text = getattr(c, name)
        if not text:
            continue
        try:
            problem = compile_text(text, text_mode(c.channel, name)).budget_problem()
        except TemplateSyntaxProblem as exc:
            v.add(f"{where}.{block}.{name}", f"not a valid template: {exc}")
        else:
            if problem is not None:
                v.add(f"{where}.{block}.{name}", f"exceeds the render budget: {problem}")


_CONTENT_LABELS = {(Channel.SMS, "body"): "SMS", (Channel.WHATSAPP, "body"): "WhatsApp"}


def _check_content_limits(v: ViolationCollector, where: str, c: ChannelContent) -> bool:
    """Per-field source sizes (CONTENT_LIMITS); False when one is over, so nothing else is done
    with the oversized text (compiling a 3.5 MB template is work enough to avoid)."""
    block = _CONTENT_BLOCK[c.channel]
    within = True
    for name, limit in CONTENT_LIMITS[c.channel].items():
        size = len(getattr(c, name))
        if size > limit:
            label = _CONTENT_LABELS.get((c.channel, name), f"{block}.{name}")
            v.add(f"{where}.{block}.{name}", f"{label} is at most {limit} characters (got {size})")
            within = False
    _check_text(v, f"{where}.template_id", c.template_id or "", MAX_ID)
    if c.channel is Channel.EMAIL and not c.template_id and not c.subject.strip():
        v.add(f"{where}.email.subject", "an email needs a subject")
    if c.channel is Channel.WEBHOOK and within:
        check_webhook(v, f"{where}.webhook", c)  # URL and header policy (docs/webhooks.md)
    return within


def _check_variants(v: ViolationCollector, variants: Sequence[Variant]) -> None:
    if not variants:
        return
    if not MIN_VARIANTS <= len(variants) <= MAX_VARIANTS:
        v.add(
            "variants",
            f"an A/B test has {MIN_VARIANTS} to {MAX_VARIANTS} variants (got {len(variants)})",
        )
        if len(variants) > MAX_VARIANTS:
            return
    names: set[str] = set()
    total_bp, controls, exact = 0, 0, True
    for i, variant in enumerate(variants):
        where = f"variants[{i}]"
        if not variant.name.strip():
            v.add(f"{where}.name", "is required")
        elif len(variant.name) > MAX_NAME:
            v.add(f"{where}.name", f"must be at most {MAX_NAME} characters")
        elif variant.name in names:
            v.add(f"{where}.name", f"duplicate variant name {shown(variant.name)}")
        names.add(variant.name)
        _check_text(v, f"{where}.variant_id", variant.variant_id, MAX_ID)
        bp = basis_points(variant.allocation_percentage)
        if bp is None:
            v.add(f"{where}.allocation_percentage", "at most two decimal places")
            exact = False
        elif not 0 <= bp <= BASIS_POINTS:
            # 0 is allowed (an arm kept in the test but sent to no one); the sum must be 100.
            v.add(f"{where}.allocation_percentage", "must be between 0 and 100")
        total_bp += bp or 0
        controls += variant.is_control
        if variant.is_control and variant.channels:
            v.add(f"{where}.channels", "a control variant sends nothing; remove its channels")
        _check_contents(v, f"{where}.channels", variant.channels)
    if exact and total_bp != BASIS_POINTS:
        v.add("variants", f"allocations must sum to exactly 100 (got {total_bp / 100:g})")
    if controls > 1:
        v.add("variants", "at most one control variant")


def _check_triggers(v: ViolationCollector, spec: CampaignSpec) -> None:
    if spec.triggers and spec.campaign_type is not CampaignType.TRIGGERED:
        v.add("triggers", "only triggered campaigns have triggers")
    if len(spec.triggers) > MAX_TRIGGERS:
        v.add("triggers", f"at most {MAX_TRIGGERS} triggers (got {len(spec.triggers)})")
        return
    for i, trigger in enumerate(spec.triggers):
        _check_trigger(v, f"triggers[{i}]", trigger)


def _check_trigger(v: ViolationCollector, where: str, t: Trigger) -> None:
    if not t.event_type.strip():
        v.add(f"{where}.event_type", "is required")
    elif len(t.event_type) > MAX_FIELD:
        v.add(f"{where}.event_type", f"must be at most {MAX_FIELD} characters")
    _check_text(v, f"{where}.trigger_id", t.trigger_id, MAX_ID)
    check_conditions(v, f"{where}.conditions", t.conditions)
    if not timedelta(0) <= t.delay <= MAX_TRIGGER_DELAY:
        v.add(f"{where}.delay", "must be between 0 and 30 days")
    if t.frequency_limit < 1:
        v.add(f"{where}.frequency_limit", "must be at least 1")
    if not timedelta(0) < t.frequency_window <= MAX_FREQUENCY_WINDOW:
        v.add(f"{where}.frequency_window", "must be more than 0 and at most 365 days")


def _check_throttle(v: ViolationCollector, throttle: Throttle) -> None:
    for name, value in (("per_minute", throttle.per_minute), ("per_hour", throttle.per_hour)):
        if value is not None and value < 1:
            v.add(name, "must be at least 1 when set")
    quiet = throttle.quiet_hours
    if quiet.enabled and quiet.start == quiet.end:
        v.add("quiet_hours", "start and end must differ (disable quiet hours instead)")


def _check_holdout(v: ViolationCollector, holdout: float) -> None:
    bp = basis_points(holdout)
    if bp is None:
        v.add("holdout_percentage", "at most two decimal places")
    elif not 0 <= bp <= MAX_HOLDOUT * 100:
        v.add("holdout_percentage", f"must be between 0 and {MAX_HOLDOUT:g}")


def _check_conversion(v: ViolationCollector, conversion: Conversion) -> None:
    if not conversion.event_type.strip():
        v.add("event_type", "is required")
    elif len(conversion.event_type) > MAX_FIELD:
        v.add("event_type", f"must be at most {MAX_FIELD} characters")
    if conversion.attribution_window_days not in ATTRIBUTION_DAYS:
        v.add("attribution_window_days", "must be between 1 and 30 days")


def _check_ab_test(v: ViolationCollector, ab: AbTest, variants: Sequence[Variant]) -> None:
    if len(variants) < MIN_VARIANTS:
        v.add("ab_test", f"an A/B test needs at least {MIN_VARIANTS} variants")
    low, high = CONFIDENCE_RANGE
    if not low <= ab.confidence <= high:
        v.add("ab_test.confidence", f"must be between {low} and {high}")
    if ab.auto_winner_enabled:
        if ab.auto_winner_metric is None:
            v.add("ab_test.auto_winner_metric", "is required when auto_winner_enabled")
        if ab.min_sample_per_variant < MIN_AUTO_WINNER_SAMPLE:
            v.add(
                "ab_test.min_sample_per_variant",
                f"automatic winner selection needs at least {MIN_AUTO_WINNER_SAMPLE} per variant",
            )
    elif ab.min_sample_per_variant < 1:
        v.add("ab_test.min_sample_per_variant", "must be at least 1")


_TAG = re.compile(r"^[\w.:/-]+$")


def _check_tags(v: ViolationCollector, tags: Sequence[str]) -> None:
    if len(tags) > MAX_TAGS:
        v.add("tags", f"at most {MAX_TAGS} tags (got {len(tags)})")
        return
    if len(set(tags)) != len(tags):
        v.add("tags", "tags must be unique")
    for i, tag in enumerate(tags):
        if not 0 < len(tag) <= MAX_TAG or not _TAG.match(tag):
            v.add(f"tags[{i}]", f"1-{MAX_TAG} letters, digits or . _ : / -")


def _check_metadata(v: ViolationCollector, metadata: Sequence[tuple[str, str]]) -> None:
    if len(metadata) > MAX_METADATA:
        v.add("metadata", f"at most {MAX_METADATA} entries (got {len(metadata)})")
        return
    for key, value in metadata:
        if not 0 < len(key) <= MAX_METADATA_KEY:
            v.add(f"metadata[{shown(key)}]", f"keys are 1-{MAX_METADATA_KEY} characters")
        if len(value) > MAX_METADATA_VALUE:
            v.add(f"metadata[{shown(key)}]", f"values are at most {MAX_METADATA_VALUE} characters")
