"""The pure decisions of a trigger's evaluation (domain.events.trigger_decisions): which event
types are trigger sources, which triggers an event matches, which condition fails, and what the
campaign's plan makes of one member."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from domain.audience.contacts import Contact
from domain.audience.model import Condition, ConditionOperator, Recipient
from domain.campaigns.campaign import Campaign
from domain.campaigns.model import (
    CampaignSpec,
    CampaignStatus,
    CampaignType,
    ChannelContent,
    Trigger,
    Variant,
)
from domain.events.trigger_decisions import (
    EVERY_CHANNEL,
    describe_condition,
    failing_condition,
    fires_on,
    is_trigger_source,
    plan_member,
)
from domain.events.trigger_model import Verdict, evaluation_id
from domain.execution.assignment import bucket
from domain.execution.planning import CampaignPlan
from domain.kernel.channels import Channel

T0 = datetime(2030, 1, 1, tzinfo=UTC)
EMAIL = ChannelContent(Channel.EMAIL, subject="Hi {{ first_name }}", html_body="x")
SMS = ChannelContent(Channel.SMS, body="Hi")
ADA = Contact("u1", email="ada@example.com", email_opted_in=True, attributes={"first_name": "Ada"})


def campaign(
    *triggers: Trigger,
    status: CampaignStatus = CampaignStatus.ACTIVE,
    campaign_type: CampaignType = CampaignType.TRIGGERED,
    **spec: object,
) -> Campaign:
    return Campaign(
        "c1",
        "org",
        CampaignSpec(
            "Thanks",
            campaign_type,
            channels=spec.pop("channels", (EMAIL,)),  # type: ignore[arg-type]
            triggers=triggers,
            **spec,  # type: ignore[arg-type]
        ),
        created_by="alice",
        created_at=T0,
        updated_at=T0,
        status=status,
    )


@pytest.mark.parametrize(
    ("event_type", "source"),
    [
        ("order.completed", True),
        ("user.created", True),
        ("subscription.renewed", True),
        ("event.stored", True),
        ("cart.abandoned", True),
        ("notification.delivered", False),
        ("notification.bounced", False),
        ("user.deleted", False),
        ("user.preferences.updated", False),
        ("task.executed", False),
    ],
)
def test_every_type_but_the_ones_other_handlers_own_is_a_trigger_source(
    event_type: str, source: bool
) -> None:
    assert is_trigger_source(event_type) is source


def test_only_an_active_triggered_campaign_fires_and_only_on_its_type() -> None:
    first, other, second = (
        Trigger("order.completed", "t1"),
        Trigger("user.created", "t2"),
        Trigger("order.completed", "t3"),
    )

    assert fires_on(campaign(first, other, second), "order.completed") == (first, second)
    assert fires_on(campaign(first), "order.cancelled") == ()
    assert fires_on(campaign(first, status=CampaignStatus.PAUSED), "order.completed") == ()
    assert fires_on(campaign(first, status=CampaignStatus.DRAFT), "order.completed") == ()
    scheduled = campaign(first, campaign_type=CampaignType.SCHEDULED)
    assert fires_on(scheduled, "order.completed") == ()


def cond(field: str, operator: str, value: object = None) -> Condition:
    return Condition(field, ConditionOperator(operator), value)  # type: ignore[arg-type]


def test_conditions_are_anded_on_the_properties_with_dot_paths() -> None:
    conditions = [
        cond("total", "greater_than_or_equal", 50.0),
        cond("customer.tier", "in", ("gold", "platinum")),
        cond("coupon", "not_exists"),
    ]
    good = {"total": 50, "customer": {"tier": "gold"}}

    assert failing_condition(conditions, good) is None
    assert failing_condition([], {}) is None
    assert failing_condition(conditions, {**good, "total": "49.5"}) == (0, conditions[0])
    assert failing_condition(conditions, {"total": 60, "customer": {"tier": "silver"}}) == (
        1,
        conditions[1],
    )
    assert failing_condition(conditions, {**good, "coupon": "X"}) == (2, conditions[2])
    assert failing_condition(conditions, {"total": 60}) == (1, conditions[1])  # missing field


def test_a_skip_reason_names_the_failing_condition_as_written() -> None:
    assert describe_condition(0, cond("total", "greater_than", 50.0)) == (
        "conditions[0]: total greater_than 50"
    )
    assert describe_condition(2, cond("tier", "in", ("gold", 1.5, True))) == (
        "conditions[2]: tier in ['gold', 1.5, true]"
    )
    assert describe_condition(1, cond("coupon", "exists")) == "conditions[1]: coupon exists"


def test_plan_member_sends_on_an_eligible_channel_with_rendered_content() -> None:
    planned = plan_member(CampaignPlan.of(campaign()), Recipient(ADA))

    assert planned.verdict is None
    [draft] = planned.drafts
    assert (draft.channel, draft.address, draft.content["subject"]) == (
        Channel.EMAIL,
        "ada@example.com",
        "Hi Ada",
    )


def test_plan_member_says_why_nothing_is_sent() -> None:
    plain = CampaignPlan.of(campaign())
    sms_only = CampaignPlan.of(campaign(channels=(SMS,)))
    held_out = CampaignPlan.of(campaign(holdout_percentage=100.0))
    control = CampaignPlan.of(campaign(variants=(Variant("ctl", "C", 100.0, is_control=True),)))
    broken = CampaignPlan.of(
        campaign(channels=(ChannelContent(Channel.EMAIL, subject="{{ 1 / 0 }}", html_body="x"),))
    )

    assert plan_member(plain, Recipient(ADA, EVERY_CHANNEL)).verdict is Verdict.SUPPRESSED
    assert plan_member(plain, Recipient(ADA, frozenset({Channel.EMAIL}))).verdict is (
        Verdict.UNREACHABLE
    )
    assert plan_member(sms_only, Recipient(ADA)).verdict is Verdict.UNREACHABLE
    assert plan_member(held_out, Recipient(ADA)).verdict is Verdict.HOLDOUT
    assert plan_member(control, Recipient(ADA)).verdict is Verdict.CONTROL
    failed = plan_member(broken, Recipient(ADA))
    assert failed.verdict is Verdict.RENDER_FAILED
    assert "template failed to render" in failed.reason


def test_holdout_is_the_runs_hash_so_a_user_is_held_out_of_runs_and_triggers_alike() -> None:
    plan = CampaignPlan.of(campaign(holdout_percentage=50.0))
    users = [Contact(f"u{n}", email=f"u{n}@x.test", email_opted_in=True) for n in range(200)]

    for user in users:
        held = plan_member(plan, Recipient(user)).verdict is Verdict.HOLDOUT
        assert held is (bucket(user.user_id, "c1") < 5_000)


def test_an_evaluation_id_is_derived_from_campaign_trigger_and_event() -> None:
    assert evaluation_id("c1", "t1", "e1") == evaluation_id("c1", "t1", "e1")
    assert (
        len(
            {
                evaluation_id("c1", "t1", "e1"),
                evaluation_id("c1", "t2", "e1"),
                evaluation_id("c2", "t1", "e1"),
            }
        )
        == 3
    )
