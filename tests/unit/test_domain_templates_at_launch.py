"""Templates referenced by template_id are checked when a campaign launches (BR-CAM-008)."""

from __future__ import annotations

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
)
from domain.campaigns.service import CampaignService
from domain.campaigns.templates import Template
from domain.kernel.channels import Channel
from domain.kernel.errors import CampaignIncompleteError
from domain.kernel.principal import Principal, Role
from tests.support.compliance import FOOTER

ADMIN = Principal("org-t", "admin", frozenset({Role.ADMIN}))
NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)


class Clock:
    def now(self) -> datetime:
        return NOW


def spec_with_template(template_id: str) -> CampaignSpec:
    return CampaignSpec(
        name="templated",
        campaign_type=CampaignType.SCHEDULED,
        audiences=(
            Audience(
                "",
                SegmentType.INCLUDE,
                query=(Condition("tier", ConditionOperator.EQUALS, "gold"),),
            ),
        ),
        channels=(ChannelContent(Channel.EMAIL, template_id=template_id),),
    )


@pytest.fixture
def templates() -> MemoryTemplateSource:
    source = MemoryTemplateSource()
    source.put(
        "org-t",
        Template(
            "welcome",
            ChannelContent(
                Channel.EMAIL, subject="Hi {{ first_name }}", html_body="<p>Welcome</p>" + FOOTER
            ),
        ),
    )
    source.put(
        "org-t",
        Template(
            "broken", ChannelContent(Channel.EMAIL, subject="Hi {{ first_name", html_body="x")
        ),
    )
    return source


@pytest.fixture
def service(templates: MemoryTemplateSource) -> CampaignService:
    return CampaignService(
        MemoryStore().unit_of_work, Clock(), UuidGenerator(), templates=templates
    )


async def schedule(service: CampaignService, template_id: str) -> CampaignStatus:
    created = await service.create_campaign(ADMIN, spec_with_template(template_id))
    scheduled = await service.schedule_campaign(
        ADMIN, created.campaign_id, Schedule(scheduled_at=NOW + timedelta(hours=1))
    )
    return scheduled.status


async def test_a_campaign_whose_templates_exist_and_parse_can_be_scheduled(service):
    assert await schedule(service, "welcome") is CampaignStatus.SCHEDULED


async def test_a_missing_template_blocks_the_launch_and_names_it(service):
    with pytest.raises(CampaignIncompleteError, match="missing") as caught:
        await schedule(service, "missing")

    assert caught.value.violations[0].subject == "template_id"


async def test_a_template_with_broken_syntax_blocks_the_launch(service):
    with pytest.raises(CampaignIncompleteError, match="'broken' is not valid"):
        await schedule(service, "broken")
