"""Template variables are checked against the organization's profile fields when a campaign is
scheduled or activated (BR-CAM-008.2), for inline content and creative-service templates."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from adapters.memory.audience import (
    MemoryAudienceSource,
    MemoryContactDirectory,
    MemorySegmentStore,
    MemorySuppressionStore,
)
from adapters.memory.campaigns import MemoryStore
from adapters.memory.templates import MemoryTemplateSource
from adapters.system import UuidGenerator
from domain.audience.contacts import Contact
from domain.audience.model import Audience, Condition, ConditionOperator, SegmentType
from domain.campaigns.model import (
    CampaignSpec,
    CampaignStatus,
    CampaignType,
    ChannelContent,
    Schedule,
    Variant,
)
from domain.campaigns.profile_fields import UNKNOWN_PROFILE_FIELD
from domain.campaigns.service import CampaignService
from domain.campaigns.templates import Template
from domain.kernel.channels import Channel
from domain.kernel.errors import CampaignIncompleteError, DependencyUnavailableError
from domain.kernel.principal import Principal, Role
from tests.support.compliance import FOOTER

ORG = "org-p"
ADMIN = Principal(ORG, "admin", frozenset({Role.ADMIN}))
NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)
EVERYONE = Audience(
    "", SegmentType.INCLUDE, query=(Condition("locale", ConditionOperator.EQUALS, "en"),)
)


class Clock:
    def now(self) -> datetime:
        return NOW


def email(subject: str, body: str = "<p>hello</p>", template_id: str = "") -> ChannelContent:
    if template_id:
        return ChannelContent(Channel.EMAIL, template_id=template_id)
    return ChannelContent(Channel.EMAIL, subject=subject, html_body=body + FOOTER)


def spec(*contents: ChannelContent, variants: tuple[Variant, ...] = ()) -> CampaignSpec:
    return CampaignSpec(
        name="personal",
        campaign_type=CampaignType.SCHEDULED,
        audiences=(EVERYONE,),
        channels=contents,
        variants=variants,
    )


@pytest.fixture
async def service() -> CampaignService:
    contacts = MemoryContactDirectory()
    await contacts.upsert(
        ORG, [Contact("u1", attributes={"first_name": "Ana", "plan": {"tier": "gold"}})]
    )
    templates = MemoryTemplateSource()
    templates.put(ORG, Template("typo", email("Hi {{ frist_name }}")))
    templates.put(ORG, Template("fine", email("Hi {{ first_name }}")))
    audience = MemoryAudienceSource(contacts, MemorySegmentStore(), MemorySuppressionStore())
    return CampaignService(
        MemoryStore().unit_of_work,
        Clock(),
        UuidGenerator(),
        templates=templates,
        audience=audience,
    )


async def schedule(service: CampaignService, campaign: CampaignSpec) -> CampaignStatus:
    created = await service.create_campaign(ADMIN, campaign)
    scheduled = await service.schedule_campaign(
        ADMIN, created.campaign_id, Schedule(scheduled_at=NOW + timedelta(hours=1))
    )
    return scheduled.status


async def test_attributes_own_fields_and_template_built_ins_are_known(service):
    text = (
        "{{ first_name }} {{ plan.tier }} {{ email }} {{ user_id }}"
        "{% for i in range(2) %}{{ loop.index }}{% endfor %}"
    )
    assert await schedule(service, spec(email(text, body=text))) is CampaignStatus.SCHEDULED


async def test_an_unknown_variable_blocks_the_launch_and_names_field_and_variable(service):
    with pytest.raises(CampaignIncompleteError, match="frist_name") as caught:
        await schedule(service, spec(email("Hi {{ frist_name }}", body="{{ coupon }}")))

    found = [(v.type, v.subject, v.description) for v in caught.value.violations]
    assert [(t, s) for t, s, _ in found] == [
        (UNKNOWN_PROFILE_FIELD, "channels[0].email.subject"),
        (UNKNOWN_PROFILE_FIELD, "channels[0].email.html_body"),
    ]
    assert "{{ frist_name }}" in found[0][2]
    assert "{{ coupon }}" in found[1][2]


async def test_a_variants_content_is_checked_at_its_own_path(service):
    variants = (
        Variant("", "A", 50, channels=(email("Hi {{ first_name }}"),)),
        Variant("", "B", 50, channels=(email("Hi {{ nickname }}"),)),
    )
    with pytest.raises(CampaignIncompleteError) as caught:
        await schedule(service, spec(variants=variants))

    assert [v.subject for v in caught.value.violations] == ["variants[1].channels[0].email.subject"]


async def test_a_templates_variables_are_checked_too(service):
    assert await schedule(service, spec(email("", template_id="fine"))) is (
        CampaignStatus.SCHEDULED
    )
    with pytest.raises(CampaignIncompleteError, match="frist_name") as caught:
        await schedule(service, spec(email("", template_id="typo")))

    assert "template 'typo'" in caught.value.violations[0].description


async def test_before_any_attribute_was_imported_variables_are_not_checked():
    audience = MemoryAudienceSource(
        MemoryContactDirectory(), MemorySegmentStore(), MemorySuppressionStore()
    )
    service = CampaignService(
        MemoryStore().unit_of_work, Clock(), UuidGenerator(), audience=audience
    )

    assert await schedule(service, spec(email("{{ anything }}"))) is CampaignStatus.SCHEDULED


def receipts(text: str) -> CampaignSpec:
    return CampaignSpec(
        name="receipts", campaign_type=CampaignType.TRANSACTIONAL, channels=(email(text),)
    )


async def activate(service: CampaignService, campaign: CampaignSpec) -> CampaignStatus:
    created = await service.create_campaign(ADMIN, campaign)
    return (await service.activate_campaign(ADMIN, created.campaign_id)).status


async def test_transactional_content_may_use_the_sends_context(service):
    campaign = receipts("Order {{ order_id }}, {{ first_name }}")

    assert await activate(service, campaign) is CampaignStatus.ACTIVE


async def test_another_organizations_attributes_do_not_count():
    contacts = MemoryContactDirectory()
    await contacts.upsert(ORG, [Contact("u1", attributes={"first_name": "Ana"})])
    await contacts.upsert("org-other", [Contact("u9", attributes={"secret_score": 3})])
    audience = MemoryAudienceSource(contacts, MemorySegmentStore(), MemorySuppressionStore())
    service = CampaignService(
        MemoryStore().unit_of_work, Clock(), UuidGenerator(), audience=audience
    )

    with pytest.raises(CampaignIncompleteError, match="secret_score"):
        await schedule(service, spec(email("{{ secret_score }}")))


class DataServiceDown:
    """An audience source whose profile schema cannot be had (the data service is down)."""

    async def profile_fields(self, organization_id: str) -> frozenset[str] | None:
        raise DependencyUnavailableError("data service down")


async def test_a_transactional_activation_does_not_ask_for_the_profile_schema():
    service = CampaignService(
        MemoryStore().unit_of_work, Clock(), UuidGenerator(), audience=DataServiceDown()
    )
    assert await activate(service, receipts("Order {{ order_id }}")) is CampaignStatus.ACTIVE
    with pytest.raises(DependencyUnavailableError):  # a scheduled one needs the schema
        await schedule(service, spec(email("Hi {{ first_name }}")))
