"""Business rules of a campaign definition: `validate_spec` (shape and limits) and
`readiness_problems` (completeness before launch)."""

from __future__ import annotations

from dataclasses import replace
from datetime import time, timedelta

import pytest

from domain.audience.model import Audience, Condition, ConditionOperator, SegmentType
from domain.campaigns.model import (
    AbTest,
    CampaignSpec,
    CampaignType,
    ChannelContent,
    Conversion,
    ExperimentMetric,
    QuietHours,
    Throttle,
    Trigger,
    Variant,
)
from domain.campaigns.rules import readiness_problems, validate_spec
from domain.kernel.channels import Channel
from domain.kernel.errors import InvalidArgumentError, ValidationError, shown

OP = ConditionOperator


def include(segment_id: str = "seg-1") -> Audience:
    return Audience("", SegmentType.INCLUDE, segment_id=segment_id)


def exclude(segment_id: str = "seg-x") -> Audience:
    return Audience("", SegmentType.EXCLUDE, segment_id=segment_id)


def query(*conditions: Condition) -> Audience:
    return Audience("", SegmentType.INCLUDE, query=conditions)


def email(**changes: object) -> ChannelContent:
    return replace(ChannelContent(Channel.EMAIL, subject="Hello", html_body="<p>Hi</p>"), **changes)


def sms(body: str = "Hi") -> ChannelContent:
    return ChannelContent(Channel.SMS, body=body)


def webhook(url: str) -> ChannelContent:
    return ChannelContent(Channel.WEBHOOK, url=url, body="{}")


def variant(
    name: str,
    allocation: float,
    *,
    control: bool = False,
    channels: tuple[ChannelContent, ...] = (),
) -> Variant:
    return Variant("", name, allocation, is_control=control, channels=channels)


def variants_of(*allocations: float) -> tuple[Variant, ...]:
    return tuple(variant(f"arm-{i}", a) for i, a in enumerate(allocations))


def trigger(**changes: object) -> Trigger:
    return replace(Trigger("order.completed", ""), **changes)


def spec(**changes: object) -> CampaignSpec:
    """A valid scheduled campaign, changed as the test needs."""
    base = CampaignSpec(
        name="Spring sale",
        campaign_type=CampaignType.SCHEDULED,
        audiences=(include(),),
        channels=(email(),),
    )
    return replace(base, **changes)


def triggered(**changes: object) -> CampaignSpec:
    return spec(**{"campaign_type": CampaignType.TRIGGERED, "triggers": (trigger(),), **changes})


def violated_fields(candidate: CampaignSpec) -> list[str]:
    with pytest.raises(ValidationError) as caught:
        validate_spec(candidate)
    return [v.field for v in caught.value.violations]


def problem_subjects(candidate: CampaignSpec) -> list[str]:
    return [p.subject for p in readiness_problems(candidate)]


# --- name and description ----------------------------------------------------------------------


def test_a_complete_definition_is_valid() -> None:
    assert validate_spec(spec()) is None


@pytest.mark.parametrize("name", ["", "   "])
def test_empty_or_blank_name_is_rejected(name: str) -> None:
    assert violated_fields(spec(name=name)) == ["name"]


def test_name_of_255_characters_is_accepted() -> None:
    assert validate_spec(spec(name="n" * 255)) is None


def test_name_of_256_characters_is_rejected() -> None:
    assert violated_fields(spec(name="n" * 256)) == ["name"]


def test_description_of_2000_characters_is_accepted() -> None:
    assert validate_spec(spec(description="d" * 2000)) is None


def test_description_of_2001_characters_is_rejected() -> None:
    assert violated_fields(spec(description="d" * 2001)) == ["description"]


# --- audiences -----------------------------------------------------------------------------------


def test_ten_segments_including_excludes_are_accepted() -> None:
    audiences = tuple(include(f"in-{i}") for i in range(5)) + tuple(
        exclude(f"out-{i}") for i in range(5)
    )

    assert validate_spec(spec(audiences=audiences)) is None


def test_eleven_segments_are_rejected() -> None:
    audiences = tuple(include(f"in-{i}") for i in range(6)) + tuple(
        exclude(f"out-{i}") for i in range(5)
    )

    assert violated_fields(spec(audiences=audiences)) == ["audiences"]


def test_audience_with_an_inline_query_is_accepted() -> None:
    audience = query(Condition("plan", OP.EQUALS, "premium"))

    assert validate_spec(spec(audiences=(audience,))) is None


def test_audience_with_both_segment_id_and_query_is_rejected() -> None:
    both = Audience(
        "", SegmentType.INCLUDE, segment_id="seg-1", query=(Condition("plan", OP.EQUALS, "p"),)
    )

    assert violated_fields(spec(audiences=(include(), both))) == ["audiences[1]"]


def test_audience_with_neither_segment_id_nor_query_is_rejected() -> None:
    neither = Audience("", SegmentType.EXCLUDE)

    assert violated_fields(spec(audiences=(include(), neither))) == ["audiences[1]"]


def test_segment_id_of_129_characters_is_rejected() -> None:
    assert violated_fields(spec(audiences=(include("s" * 129),))) == ["audiences[0].segment_id"]


def test_segment_id_of_128_characters_is_accepted() -> None:
    assert validate_spec(spec(audiences=(include("s" * 128),))) is None


# --- conditions ----------------------------------------------------------------------------------


@pytest.mark.parametrize("operator", [OP.GREATER_THAN, OP.LESS_THAN])
@pytest.mark.parametrize("value", [10, 2.5, -1, 0])
def test_ordered_comparison_with_a_number_is_accepted(
    operator: ConditionOperator, value: float
) -> None:
    audience = query(Condition("age", operator, value))

    assert validate_spec(spec(audiences=(audience,))) is None


@pytest.mark.parametrize("operator", [OP.GREATER_THAN, OP.LESS_THAN])
@pytest.mark.parametrize("value", ["10", True, False])
def test_ordered_comparison_with_a_non_number_is_rejected(
    operator: ConditionOperator, value: str | bool
) -> None:
    audience = query(Condition("plan", OP.EQUALS, "p"), Condition("age", operator, value))

    assert violated_fields(spec(audiences=(audience,))) == [
        "audiences[0].query.conditions[1].value"
    ]


def test_contains_with_a_string_is_accepted() -> None:
    audience = query(Condition("email", OP.CONTAINS, "@example.com"))

    assert validate_spec(spec(audiences=(audience,))) is None


@pytest.mark.parametrize("value", [5, 1.5, True])
def test_contains_with_a_non_string_is_rejected(value: float | bool) -> None:
    audience = query(Condition("tags", OP.CONTAINS, value))

    assert violated_fields(spec(audiences=(audience,))) == [
        "audiences[0].query.conditions[0].value"
    ]


@pytest.mark.parametrize("value", ["premium", 3, 2.5, True])
@pytest.mark.parametrize("operator", [OP.EQUALS, OP.NOT_EQUALS])
def test_equality_accepts_any_value(operator: ConditionOperator, value: str | float) -> None:
    audience = query(Condition("plan", operator, value))

    assert validate_spec(spec(audiences=(audience,))) is None


@pytest.mark.parametrize("field", ["", "   "])
def test_condition_without_a_field_is_rejected(field: str) -> None:
    audience = query(Condition(field, OP.EQUALS, "x"))

    assert violated_fields(spec(audiences=(audience,))) == [
        "audiences[0].query.conditions[0].field"
    ]


def test_condition_field_of_129_characters_is_rejected() -> None:
    audience = query(Condition("f" * 129, OP.EQUALS, "x"))

    assert violated_fields(spec(audiences=(audience,))) == [
        "audiences[0].query.conditions[0].field"
    ]


def test_condition_field_of_128_characters_is_accepted() -> None:
    audience = query(Condition("f" * 128, OP.EQUALS, "x"))

    assert validate_spec(spec(audiences=(audience,))) is None


def test_trigger_conditions_are_checked_with_their_own_path() -> None:
    conditions = (Condition("total", OP.GREATER_THAN, 50), Condition("total", OP.LESS_THAN, "99"))

    assert violated_fields(triggered(triggers=(trigger(conditions=conditions),))) == [
        "triggers[0].conditions[1].value"
    ]


# --- channel content -----------------------------------------------------------------------------


def test_sms_body_of_160_characters_is_accepted() -> None:
    assert validate_spec(spec(channels=(sms("x" * 160),))) is None


def test_sms_body_of_161_characters_is_rejected() -> None:
    assert violated_fields(spec(channels=(sms("x" * 161),))) == ["channels[0].sms.body"]


def test_whatsapp_body_of_1600_characters_is_accepted() -> None:
    whatsapp = ChannelContent(Channel.WHATSAPP, body="w" * 1600)

    assert validate_spec(spec(channels=(whatsapp,))) is None


def test_whatsapp_body_of_1601_characters_is_rejected() -> None:
    whatsapp = ChannelContent(Channel.WHATSAPP, body="w" * 1601)

    assert violated_fields(spec(channels=(sms(), whatsapp))) == ["channels[1].whatsapp.body"]


@pytest.mark.parametrize("subject", ["", "   "])
def test_email_without_a_subject_is_rejected(subject: str) -> None:
    assert violated_fields(spec(channels=(email(subject=subject),))) == [
        "channels[0].email.subject"
    ]


def test_email_from_a_template_needs_no_subject() -> None:
    templated = ChannelContent(Channel.EMAIL, template_id="tpl-42")

    assert validate_spec(spec(channels=(templated,))) is None


def test_webhook_with_an_https_url_is_accepted() -> None:
    assert validate_spec(spec(channels=(webhook("https://hooks.example.com/campaign"),))) is None


@pytest.mark.parametrize(
    "url",
    [
        "http://hooks.example.com/campaign",
        "/hooks/campaign",
        "hooks.example.com/campaign",
        "https://",
        "ftp://hooks.example.com/campaign",
    ],
)
def test_webhook_url_that_is_not_absolute_https_is_rejected(url: str) -> None:
    assert violated_fields(spec(channels=(webhook(url),))) == ["channels[0].webhook.url"]


def test_the_same_channel_twice_is_rejected() -> None:
    assert violated_fields(spec(channels=(email(), sms(), email()))) == ["channels[2].channel"]


# --- variants ------------------------------------------------------------------------------------


def test_no_variants_is_accepted() -> None:
    assert validate_spec(spec(variants=())) is None


def test_a_single_variant_is_rejected() -> None:
    assert violated_fields(spec(variants=variants_of(100))) == ["variants"]


@pytest.mark.parametrize(
    "allocations",
    [(50, 50), (20, 20, 20, 20, 20), (33.33, 33.33, 33.34), (0.01, 99.99), (12.5, 87.5)],
)
def test_two_to_five_variants_summing_to_100_are_accepted(allocations: tuple[float, ...]) -> None:
    assert validate_spec(spec(variants=variants_of(*allocations))) is None


def test_six_variants_are_rejected() -> None:
    assert violated_fields(spec(variants=variants_of(10, 10, 20, 20, 20, 20))) == ["variants"]


@pytest.mark.parametrize("allocations", [(50, 49.99), (50, 50.01), (33.33, 33.33, 33.33)])
def test_allocations_not_summing_to_exactly_100_are_rejected(
    allocations: tuple[float, ...],
) -> None:
    assert violated_fields(spec(variants=variants_of(*allocations))) == ["variants"]


def test_allocation_with_more_than_two_decimals_is_rejected() -> None:
    assert violated_fields(spec(variants=variants_of(50, 33.333, 16.667))) == [
        "variants[1].allocation_percentage",
        "variants[2].allocation_percentage",
    ]


def test_allocation_of_zero_is_accepted_when_the_sum_is_100() -> None:
    assert validate_spec(spec(variants=variants_of(100, 0))) is None


def test_allocation_above_100_is_rejected() -> None:
    assert "variants[0].allocation_percentage" in violated_fields(
        spec(variants=variants_of(100.01, 0))
    )


def test_negative_allocation_is_rejected_even_when_the_sum_is_100() -> None:
    assert violated_fields(spec(variants=variants_of(110, -10))) == [
        "variants[0].allocation_percentage",
        "variants[1].allocation_percentage",
    ]


def test_one_control_variant_without_channels_is_accepted() -> None:
    arms = (variant("control", 10, control=True), variant("offer", 90))

    assert validate_spec(spec(variants=arms)) is None


def test_two_control_variants_are_rejected() -> None:
    arms = (
        variant("control-a", 10, control=True),
        variant("control-b", 10, control=True),
        variant("offer", 80),
    )

    assert violated_fields(spec(variants=arms)) == ["variants"]


def test_control_variant_with_channels_is_rejected() -> None:
    arms = (variant("offer", 90), variant("control", 10, control=True, channels=(sms(),)))

    assert violated_fields(spec(variants=arms)) == ["variants[1].channels"]


def test_duplicate_variant_names_are_rejected() -> None:
    arms = (variant("offer", 40), variant("other", 30), variant("offer", 30))

    assert violated_fields(spec(variants=arms)) == ["variants[2].name"]


def test_blank_variant_name_is_rejected() -> None:
    arms = (variant("offer", 50), variant(" ", 50))

    assert violated_fields(spec(variants=arms)) == ["variants[1].name"]


def test_variant_channel_content_is_checked_with_its_own_path() -> None:
    arms = (variant("a", 50, channels=(sms(),)), variant("b", 50, channels=(sms("x" * 161),)))

    assert violated_fields(spec(variants=arms)) == ["variants[1].channels[0].sms.body"]


# --- triggers ------------------------------------------------------------------------------------


def test_triggered_campaign_with_a_trigger_is_accepted() -> None:
    assert validate_spec(triggered()) is None


@pytest.mark.parametrize("campaign_type", [CampaignType.SCHEDULED, CampaignType.TRANSACTIONAL])
def test_triggers_on_a_campaign_that_is_not_triggered_are_rejected(
    campaign_type: CampaignType,
) -> None:
    candidate = spec(campaign_type=campaign_type, triggers=(trigger(),))

    assert violated_fields(candidate) == ["triggers"]


@pytest.mark.parametrize("delay", [timedelta(0), timedelta(days=30)])
def test_trigger_delay_from_0_to_30_days_is_accepted(delay: timedelta) -> None:
    assert validate_spec(triggered(triggers=(trigger(delay=delay),))) is None


@pytest.mark.parametrize("delay", [timedelta(days=30, seconds=1), timedelta(seconds=-1)])
def test_trigger_delay_outside_0_to_30_days_is_rejected(delay: timedelta) -> None:
    assert violated_fields(triggered(triggers=(trigger(delay=delay),))) == ["triggers[0].delay"]


def test_trigger_frequency_limit_of_1_is_accepted() -> None:
    assert validate_spec(triggered(triggers=(trigger(frequency_limit=1),))) is None


@pytest.mark.parametrize("limit", [0, -1])
def test_trigger_frequency_limit_below_1_is_rejected(limit: int) -> None:
    assert violated_fields(triggered(triggers=(trigger(frequency_limit=limit),))) == [
        "triggers[0].frequency_limit"
    ]


def test_trigger_frequency_window_of_365_days_is_accepted() -> None:
    assert (
        validate_spec(triggered(triggers=(trigger(frequency_window=timedelta(days=365)),))) is None
    )


@pytest.mark.parametrize("window", [timedelta(0), timedelta(days=365, seconds=1)])
def test_trigger_frequency_window_outside_limits_is_rejected(window: timedelta) -> None:
    assert violated_fields(triggered(triggers=(trigger(frequency_window=window),))) == [
        "triggers[0].frequency_window"
    ]


def test_trigger_without_event_type_is_rejected() -> None:
    triggers = (trigger(), trigger(event_type="  "))

    assert violated_fields(triggered(triggers=triggers)) == ["triggers[1].event_type"]


# --- throttle, holdout, conversion ---------------------------------------------------------------


@pytest.mark.parametrize("name", ["per_minute", "per_hour"])
def test_throttle_rate_below_1_is_rejected(name: str) -> None:
    throttle = replace(Throttle(), **{name: 0})

    assert violated_fields(spec(throttle=throttle)) == [f"throttle.{name}"]


def test_throttle_rates_of_1_are_accepted() -> None:
    assert validate_spec(spec(throttle=Throttle(per_minute=1, per_hour=1))) is None


def test_quiet_hours_starting_when_they_end_are_rejected() -> None:
    throttle = Throttle(quiet_hours=QuietHours(start=time(22, 0), end=time(22, 0)))

    assert violated_fields(spec(throttle=throttle)) == ["throttle.quiet_hours"]


def test_disabled_quiet_hours_may_start_when_they_end() -> None:
    quiet = QuietHours(enabled=False, start=time(22, 0), end=time(22, 0))

    assert validate_spec(spec(throttle=Throttle(quiet_hours=quiet))) is None


@pytest.mark.parametrize("holdout", [0, 0.01, 12.5, 20])
def test_holdout_from_0_to_20_percent_is_accepted(holdout: float) -> None:
    assert validate_spec(spec(holdout_percentage=holdout)) is None


@pytest.mark.parametrize("holdout", [20.01, -0.01, 5.555])
def test_holdout_outside_0_to_20_or_with_three_decimals_is_rejected(holdout: float) -> None:
    assert violated_fields(spec(holdout_percentage=holdout)) == ["holdout_percentage"]


def test_attribution_window_defaults_to_7_days() -> None:
    assert Conversion("order.completed").attribution_window_days == 7


@pytest.mark.parametrize("days", [1, 7, 30])
def test_attribution_window_of_1_to_30_days_is_accepted(days: int) -> None:
    assert validate_spec(spec(conversion=Conversion("order.completed", days))) is None


@pytest.mark.parametrize("days", [0, 31])
def test_attribution_window_outside_1_to_30_days_is_rejected(days: int) -> None:
    assert violated_fields(spec(conversion=Conversion("order.completed", days))) == [
        "conversion.attribution_window_days"
    ]


def test_conversion_without_event_type_is_rejected() -> None:
    assert violated_fields(spec(conversion=Conversion(" "))) == ["conversion.event_type"]


# --- A/B test settings ---------------------------------------------------------------------------


def test_ab_test_without_variants_is_rejected() -> None:
    assert violated_fields(spec(ab_test=AbTest())) == ["ab_test"]


@pytest.mark.parametrize("confidence", [0.8, 0.95, 0.999])
def test_ab_test_confidence_from_80_to_99_9_percent_is_accepted(confidence: float) -> None:
    candidate = spec(variants=variants_of(50, 50), ab_test=AbTest(confidence=confidence))

    assert validate_spec(candidate) is None


@pytest.mark.parametrize("confidence", [0.79, 1.0, 0.0])
def test_ab_test_confidence_outside_range_is_rejected(confidence: float) -> None:
    candidate = spec(variants=variants_of(50, 50), ab_test=AbTest(confidence=confidence))

    assert violated_fields(candidate) == ["ab_test.confidence"]


def test_auto_winner_without_a_metric_is_rejected() -> None:
    candidate = spec(variants=variants_of(50, 50), ab_test=AbTest(auto_winner_enabled=True))

    assert violated_fields(candidate) == ["ab_test.auto_winner_metric"]


def test_auto_winner_with_a_sample_of_1000_is_accepted() -> None:
    ab = AbTest(True, ExperimentMetric.CLICK_RATE, min_sample_per_variant=1000)

    assert validate_spec(spec(variants=variants_of(50, 50), ab_test=ab)) is None


def test_auto_winner_with_a_sample_of_999_is_rejected() -> None:
    ab = AbTest(True, ExperimentMetric.CLICK_RATE, min_sample_per_variant=999)

    assert violated_fields(spec(variants=variants_of(50, 50), ab_test=ab)) == [
        "ab_test.min_sample_per_variant"
    ]


def test_manual_winner_accepts_a_sample_of_1() -> None:
    ab = AbTest(min_sample_per_variant=1)

    assert validate_spec(spec(variants=variants_of(50, 50), ab_test=ab)) is None


def test_manual_winner_with_a_sample_of_0_is_rejected() -> None:
    ab = AbTest(min_sample_per_variant=0)

    assert violated_fields(spec(variants=variants_of(50, 50), ab_test=ab)) == [
        "ab_test.min_sample_per_variant"
    ]


# --- tags and metadata ---------------------------------------------------------------------------


def test_twenty_tags_are_accepted() -> None:
    assert validate_spec(spec(tags=tuple(f"t{i}" for i in range(20)))) is None


def test_twenty_one_tags_are_rejected() -> None:
    assert violated_fields(spec(tags=tuple(f"t{i}" for i in range(21)))) == ["tags"]


def test_duplicate_tags_are_rejected() -> None:
    assert violated_fields(spec(tags=("spring", "sale", "spring"))) == ["tags"]


def test_tag_of_64_allowed_characters_is_accepted() -> None:
    assert validate_spec(spec(tags=("team:growth/q1-2026.v_2", "t" * 64))) is None


@pytest.mark.parametrize("tag", ["t" * 65, "", "summer sale", "50%"])
def test_tag_too_long_empty_or_with_other_characters_is_rejected(tag: str) -> None:
    assert violated_fields(spec(tags=("ok", tag))) == ["tags[1]"]


def test_fifty_metadata_entries_are_accepted() -> None:
    assert validate_spec(spec(metadata=tuple((f"k{i}", "v") for i in range(50)))) is None


def test_fifty_one_metadata_entries_are_rejected() -> None:
    assert violated_fields(spec(metadata=tuple((f"k{i}", "v") for i in range(51)))) == ["metadata"]


def test_metadata_key_of_64_and_value_of_1024_characters_are_accepted() -> None:
    assert validate_spec(spec(metadata=(("k" * 64, "v" * 1024),))) is None


def test_metadata_key_of_65_characters_is_rejected() -> None:
    key = "k" * 65

    assert violated_fields(spec(metadata=((key, "v"),))) == [f"metadata[{shown(key)}]"]


def test_empty_metadata_key_is_rejected() -> None:
    assert violated_fields(spec(metadata=(("", "v"),))) == ["metadata['']"]


def test_metadata_value_of_1025_characters_is_rejected() -> None:
    assert violated_fields(spec(metadata=(("owner", "v" * 1025),))) == ["metadata['owner']"]


# --- all at once ---------------------------------------------------------------------------------


def test_every_violation_is_reported_at_once() -> None:
    candidate = spec(
        name="",
        channels=(sms("x" * 161),),
        variants=variants_of(50, 49.99),
        triggers=(trigger(),),
        holdout_percentage=25,
        conversion=Conversion("order.completed", 0),
        tags=("bad tag",),
    )

    with pytest.raises(ValidationError) as caught:
        validate_spec(candidate)

    assert [v.field for v in caught.value.violations] == [
        "name",
        "channels[0].sms.body",
        "variants",
        "triggers",
        "holdout_percentage",
        "conversion.attribution_window_days",
        "tags[0]",
    ]
    assert caught.value.reason == "CAMPAIGN_INVALID"
    assert isinstance(caught.value, InvalidArgumentError)


def test_violation_descriptions_say_what_is_wrong() -> None:
    with pytest.raises(ValidationError) as caught:
        validate_spec(spec(channels=(sms("x" * 161),)))

    assert caught.value.violations[0].description == "SMS is at most 160 characters (got 161)"


# --- non-finite numbers --------------------------------------------------------------------------


def test_nan_allocation_is_reported_as_a_violation() -> None:
    assert "variants[0].allocation_percentage" in violated_fields(
        spec(variants=variants_of(float("nan"), 50))
    )


@pytest.mark.parametrize("holdout", [float("inf"), 1e307])
def test_infinite_or_huge_holdout_is_reported_as_a_violation(holdout: float) -> None:
    assert violated_fields(spec(holdout_percentage=holdout)) == ["holdout_percentage"]


# --- readiness -----------------------------------------------------------------------------------


def test_a_complete_scheduled_campaign_has_no_readiness_problems() -> None:
    assert readiness_problems(spec()) == []


def test_a_complete_triggered_campaign_has_no_readiness_problems() -> None:
    assert readiness_problems(triggered()) == []


@pytest.mark.parametrize("audiences", [(), (exclude(),)])
@pytest.mark.parametrize("campaign_type", [CampaignType.SCHEDULED, CampaignType.TRIGGERED])
def test_campaign_without_an_include_segment_is_not_ready(
    campaign_type: CampaignType, audiences: tuple[Audience, ...]
) -> None:
    candidate = spec(campaign_type=campaign_type, audiences=audiences, triggers=(trigger(),))

    problems = readiness_problems(candidate)

    assert [(p.type, p.subject) for p in problems] == [("INCOMPLETE", "audiences")]


def test_transactional_campaign_needs_no_audience() -> None:
    assert readiness_problems(spec(campaign_type=CampaignType.TRANSACTIONAL, audiences=())) == []


def test_triggered_campaign_without_triggers_is_not_ready() -> None:
    assert problem_subjects(triggered(triggers=())) == ["triggers"]


def test_campaign_without_channels_is_not_ready() -> None:
    assert problem_subjects(spec(channels=())) == ["channels"]


def test_missing_pieces_are_all_listed() -> None:
    candidate = triggered(audiences=(), triggers=(), channels=())

    assert problem_subjects(candidate) == ["audiences", "triggers", "channels"]


@pytest.mark.parametrize(
    "content",
    [
        ChannelContent(Channel.EMAIL, html_body="<p>Hi</p>"),
        ChannelContent(Channel.EMAIL, subject="Hello"),
        ChannelContent(Channel.SMS),
        ChannelContent(Channel.WHATSAPP),
        ChannelContent(Channel.IN_APP, action_url="app://offers"),
        ChannelContent(Channel.IN_APP, title="Offer"),
        ChannelContent(Channel.IN_APP, body="Offer"),
        ChannelContent(Channel.WEBHOOK, body="{}"),
    ],
    ids=[
        "email-no-subject",
        "email-no-body",
        "sms",
        "whatsapp",
        "in_app",
        "in_app-no-body",
        "in_app-no-title",
        "webhook",
    ],
)
def test_channel_with_incomplete_content_is_not_ready(content: ChannelContent) -> None:
    assert problem_subjects(spec(channels=(content,))) == [f"channels.{content.channel.value}"]


def test_email_readiness_names_what_is_missing() -> None:
    problems = readiness_problems(spec(channels=(ChannelContent(Channel.EMAIL),)))

    assert [p.description for p in problems] == [
        "email content needs subject and html_body or text_body"
    ]


@pytest.mark.parametrize(
    "content",
    [
        ChannelContent(Channel.EMAIL, subject="Hello", text_body="Hi"),
        ChannelContent(Channel.EMAIL, subject="Hello", html_body="<p>Hi</p>"),
        ChannelContent(Channel.SMS, body="Hi"),
        ChannelContent(Channel.WHATSAPP, body="Hi"),
        ChannelContent(Channel.IN_APP, title="Offer", body="Ten percent off"),
        ChannelContent(Channel.WEBHOOK, url="https://hooks.example.com/x"),
        ChannelContent(Channel.EMAIL, template_id="tpl-1"),
        ChannelContent(Channel.SMS, template_id="tpl-2"),
    ],
)
def test_channel_with_complete_content_is_ready(content: ChannelContent) -> None:
    assert readiness_problems(spec(channels=(content,))) == []


def test_control_variant_needs_no_content() -> None:
    arms = (variant("control", 10, control=True), variant("offer", 90, channels=(sms(),)))

    assert readiness_problems(spec(channels=(), variants=arms)) == []


def test_variant_without_own_channels_uses_the_campaign_channels() -> None:
    arms = (variant("a", 50), variant("b", 50, channels=(sms(),)))

    assert readiness_problems(spec(channels=(email(),), variants=arms)) == []


def test_variant_without_any_content_is_not_ready() -> None:
    arms = (variant("a", 50, channels=(sms(),)), variant("b", 50))

    assert problem_subjects(spec(channels=(), variants=arms)) == ["variants[1].channels"]


def test_variant_with_incomplete_content_is_not_ready() -> None:
    arms = (variant("a", 50, channels=(sms(),)), variant("b", 50, channels=(sms(""),)))

    assert problem_subjects(spec(channels=(), variants=arms)) == ["variants[1].channels.sms"]


def test_readiness_problem_names_the_variant_by_its_position_in_the_campaign() -> None:
    arms = (variant("control", 10, control=True), variant("offer", 90))

    assert problem_subjects(spec(channels=(), variants=arms)) == ["variants[1].channels"]


def test_a_template_with_broken_syntax_is_rejected_at_creation() -> None:
    broken = ChannelContent(Channel.EMAIL, subject="Hi {{ name", html_body="{% if vip %}x")
    with pytest.raises(ValidationError) as caught:
        validate_spec(
            CampaignSpec(name="x", campaign_type=CampaignType.SCHEDULED, channels=(broken,))
        )

    fields = {v.field for v in caught.value.violations}
    assert fields == {"channels[0].email.subject", "channels[0].email.html_body"}
