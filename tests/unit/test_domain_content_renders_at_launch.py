"""Every content text is rendered with a sample profile at launch: one that fails whatever the
recipient (`{{ 1/0 }}`, a sandbox violation) blocks the launch, naming the field and the error;
one that only fails for some data (`{{ 100 / count }}` with a count of 0) does not."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from adapters.memory.campaigns import MemoryStore
from adapters.memory.templates import MemoryTemplateSource
from adapters.system import UuidGenerator
from domain.audience.model import Audience, Condition, ConditionOperator, SegmentType
from domain.campaigns.model import (
    CampaignSpec,
    CampaignStatus,
    CampaignType,
    ChannelContent,
    Schedule,
    Variant,
)
from domain.campaigns.sample_render import render_error
from domain.campaigns.service import CampaignService
from domain.campaigns.templates import Template
from domain.kernel.channels import Channel
from domain.kernel.errors import CampaignIncompleteError
from domain.kernel.principal import Principal, Role
from tests.support.compliance import FOOTER

ADMIN = Principal("org-t", "admin", frozenset({Role.ADMIN}))
NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)
AUDIENCE = Audience(
    "", SegmentType.INCLUDE, query=(Condition("tier", ConditionOperator.EQUALS, "gold"),)
)


class Clock:
    def now(self) -> datetime:
        return NOW


def email(html_body: str, subject: str = "Hi {{ first_name }}") -> ChannelContent:
    return ChannelContent(Channel.EMAIL, subject=subject, html_body=html_body + FOOTER)


def scheduled(*channels: ChannelContent, variants: tuple[Variant, ...] = ()) -> CampaignSpec:
    return CampaignSpec(
        name="rendered",
        campaign_type=CampaignType.SCHEDULED,
        audiences=(AUDIENCE,),
        channels=channels,
        variants=variants,
    )


@pytest.fixture
def templates() -> MemoryTemplateSource:
    source = MemoryTemplateSource()
    source.put("org-t", Template("divides", ChannelContent(Channel.SMS, body="{{ 10 // 0 }}")))
    return source


@pytest.fixture
def service(templates: MemoryTemplateSource) -> CampaignService:
    return CampaignService(
        MemoryStore().unit_of_work, Clock(), UuidGenerator(), templates=templates
    )


async def schedule(service: CampaignService, spec: CampaignSpec) -> CampaignStatus:
    created = await service.create_campaign(ADMIN, spec)
    done = await service.schedule_campaign(
        ADMIN, created.campaign_id, Schedule(scheduled_at=NOW + timedelta(hours=1))
    )
    return done.status


async def test_a_body_that_divides_by_zero_blocks_the_launch_naming_the_field(service):
    with pytest.raises(CampaignIncompleteError) as caught:
        await schedule(service, scheduled(email("<p>{{ 1/0 }}</p>")))

    [violation] = caught.value.violations
    assert violation.type == "TEMPLATE_RENDER"
    assert violation.subject == "channels[0].email.html_body"
    assert violation.description == "fails to render: ZeroDivisionError: division by zero"
    assert caught.value.reason == "CAMPAIGN_INCOMPLETE"  # FAILED_PRECONDITION


async def test_a_sandbox_violation_blocks_the_launch(service):
    with pytest.raises(CampaignIncompleteError, match="unsafe") as caught:
        await schedule(service, scheduled(email("x", subject="{{ ''.__class__.__mro__ }}")))

    assert [v.subject for v in caught.value.violations] == ["channels[0].email.subject"]


async def test_every_failing_text_of_every_variant_is_reported(service):
    variants = (
        Variant("", "A", 50, channels=(email("ok"),)),
        Variant("", "B", 50, channels=(email("{{ 1/0 }}", subject="{{ range.x() }}"),)),
    )

    with pytest.raises(CampaignIncompleteError) as caught:
        await schedule(service, scheduled(variants=variants))

    assert [v.subject for v in caught.value.violations] == [
        "variants[1].channels[0].email.subject",
        "variants[1].channels[0].email.html_body",
    ]


async def test_a_creative_template_that_fails_to_render_blocks_the_launch(service):
    by_template = ChannelContent(Channel.SMS, template_id="divides")

    with pytest.raises(CampaignIncompleteError) as caught:
        await schedule(service, scheduled(by_template))

    [violation] = caught.value.violations
    assert violation.subject == "channels[0].sms.body"
    assert violation.description == (
        "fails to render (template 'divides'): "
        "ZeroDivisionError: integer division or modulo by zero"
    )


async def test_activating_a_transactional_campaign_renders_its_content_too(service):
    spec = replace(
        scheduled(email("{{ 1/0 }}")), campaign_type=CampaignType.TRANSACTIONAL, audiences=()
    )
    created = await service.create_campaign(ADMIN, spec)

    with pytest.raises(CampaignIncompleteError, match="division by zero"):
        await service.activate_campaign(ADMIN, created.campaign_id)

    assert (await service.get_campaign(ADMIN, created.campaign_id)).status is (CampaignStatus.DRAFT)


@pytest.mark.parametrize(
    "text",
    [
        "{{ 100 / count }}%",  # fails only for a count of 0: that recipient's message fails
        "{{ name.upper() }}",
        "{{ user.name.title() }} ({{ user.tier }})",
        "{% for tag in tags %}{{ tag.label | upper }}{% endfor %}",
        '{{ "%.2f" | format(price * 1.2) }} {{ price | round(1) }}',
        "{{ (points > 100) and vip }} {{ nums | sum }} {{ items[0].sku }}",
        "{{ 1/0 if flag else 2 }}",  # a branch of the data
        "Hi {{ first_name }} <{{ email }}>",
    ],
)
def test_a_text_that_renders_for_some_plausible_profile_passes(text: str):
    assert render_error(text) is None


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("{{ 1/0 }}", "ZeroDivisionError: division by zero"),
        (
            "{{ cycler.__init__.__globals__ }}",
            "SecurityError: access to attribute '__init__' of 'type' object is unsafe.",
        ),
        ("{{ count / 0 }}", "ZeroDivisionError: division by zero"),
    ],
)
def test_a_text_that_fails_for_every_profile_names_the_error(text: str, error: str):
    assert render_error(text) == error


async def test_a_campaign_whose_content_renders_is_scheduled(service):
    assert await schedule(service, scheduled(email("{{ 100 / count }}"))) is (
        CampaignStatus.SCHEDULED
    )
