"""Triggered campaigns and their events, as the trigger contract tests build them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

from domain.audience.model import Audience, SegmentType
from domain.campaigns.campaign import Campaign
from domain.campaigns.model import (
    CampaignSpec,
    CampaignStatus,
    CampaignType,
    ChannelContent,
    QuietHours,
    Throttle,
    Trigger,
)
from domain.campaigns.ports import UnitOfWork
from domain.events.model import InboundEvent
from domain.kernel.channels import Channel
from tests.contract.builders import ORG, T0

EMAIL = ChannelContent(Channel.EMAIL, subject="Hi {{ first_name }}", html_body="<p>Thanks</p>")
EVERYONE = Audience("all", SegmentType.INCLUDE)
NO_QUIET = Throttle(quiet_hours=QuietHours(enabled=False))


def triggered(
    campaign_id: str,
    *triggers: Trigger,
    audiences: tuple[Audience, ...] = (EVERYONE,),
    status: CampaignStatus = CampaignStatus.ACTIVE,
    organization_id: str = ORG,
    **spec: Any,
) -> Campaign:
    return Campaign(
        campaign_id=campaign_id,
        organization_id=organization_id,
        spec=CampaignSpec(
            name=f"Campaign {campaign_id}",
            campaign_type=CampaignType.TRIGGERED,
            audiences=audiences,
            channels=(EMAIL,),
            triggers=triggers or (Trigger("order.completed", "t1"),),
            throttle=spec.pop("throttle", NO_QUIET),
            **spec,
        ),
        created_by="alice",
        created_at=T0,
        updated_at=T0,
        status=status,
    )


def order(event_id: str, user_id: str = "u1", **properties: Any) -> InboundEvent:
    return InboundEvent(ORG, event_id, "order.completed", T0, user_id, properties)


async def set_status(
    unit_of_work: Callable[[], UnitOfWork], campaign_id: str, status: CampaignStatus
) -> None:
    """The campaign moved to `status` as a lifecycle RPC would store it (a new version)."""
    async with unit_of_work() as uow:
        stored = await uow.campaigns.get(ORG, campaign_id)
        assert stored is not None
        changed = replace(stored, status=status, version=stored.version + 1)
        await uow.campaigns.save(changed, expected_version=stored.version)
        await uow.commit()
