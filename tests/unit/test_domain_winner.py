"""Choosing an A/B winner by hand (CampaignService.select_winner) and what a winner changes in
the assignment: every recipient outside the holdout gets it, the control's share included."""

from __future__ import annotations

from dataclasses import replace

import pytest

from adapters.memory.campaigns import MemoryStore
from domain.campaigns.campaign import (
    ControlCannotWinError,
    NotAnAbTestError,
    VariantNotFoundError,
)
from domain.campaigns.model import CampaignSpec, ChannelContent, Variant
from domain.campaigns.service import CampaignService
from domain.execution.assignment import Allocation
from domain.kernel import events as ev
from domain.kernel.channels import Channel
from domain.kernel.errors import CampaignNotFoundError, InvalidArgumentError, PermissionDeniedError
from domain.kernel.principal import Principal

EMAIL = (ChannelContent(Channel.EMAIL, subject="Hi", html_body="<p>Hi</p>"),)


def with_arms(base: CampaignSpec) -> CampaignSpec:
    return replace(
        base,
        channels=(),
        variants=(
            Variant("", "A", 45, channels=EMAIL),
            Variant("", "B", 45, channels=EMAIL),
            Variant("", "Control", 10, is_control=True),
        ),
    )


async def test_select_winner_records_it_once_with_its_event(
    service: CampaignService, store: MemoryStore, admin: Principal, scheduled_spec: CampaignSpec
) -> None:
    created = await service.create_campaign(admin, with_arms(scheduled_spec))
    b = created.spec.variants[1].variant_id
    chosen = await service.select_winner(admin, created.campaign_id, b)
    assert chosen.winner_variant_id == b
    assert chosen.version == created.version + 1
    event = store.state.outbox[-1][1]
    assert event.event_type == ev.CAMPAIGN_WINNER_SELECTED
    assert event.data == {
        "campaign_id": created.campaign_id,
        "variant_id": b,
        "variant_name": "B",
        "selected_by": "alice",
        "automatic": False,
        "previous_winner_variant_id": None,
    }
    again = await service.select_winner(admin, created.campaign_id, b)
    assert again.version == chosen.version  # the same winner again changes nothing
    assert len(store.state.outbox) == 2


async def test_select_winner_refusals(
    service: CampaignService,
    admin: Principal,
    reader: Principal,
    outsider: Principal,
    scheduled_spec: CampaignSpec,
) -> None:
    created = await service.create_campaign(admin, with_arms(scheduled_spec))
    a, _, control = (v.variant_id for v in created.spec.variants)
    with pytest.raises(ControlCannotWinError):
        await service.select_winner(admin, created.campaign_id, control)
    with pytest.raises(VariantNotFoundError):
        await service.select_winner(admin, created.campaign_id, "no-such-variant")
    with pytest.raises(InvalidArgumentError):
        await service.select_winner(admin, created.campaign_id, "")
    with pytest.raises(CampaignNotFoundError):
        await service.select_winner(outsider, created.campaign_id, a)
    with pytest.raises(PermissionDeniedError):
        await service.select_winner(reader, created.campaign_id, a)
    plain = await service.create_campaign(admin, scheduled_spec)
    with pytest.raises(NotAnAbTestError):
        await service.select_winner(admin, plain.campaign_id, a)


def test_a_winner_takes_every_bucket_outside_the_holdout() -> None:
    arms = (
        Variant("a", "A", 45, channels=EMAIL),
        Variant("b", "B", 45, channels=EMAIL),
        Variant("c", "Control", 10, is_control=True),
    )
    before = Allocation.for_campaign(5, arms)
    after = Allocation.for_campaign(5, arms, "b")
    assert {before.assign(b) for b in range(500, 10_000)} == {"a", "b", "c"}
    assert {after.assign(b) for b in range(500, 10_000)} == {"b"}
    assert {after.assign(b) for b in range(500)} == {None}  # the holdout stays
    # a winner the variants no longer hold (or the control) leaves the allocation as it was
    assert Allocation.for_campaign(5, arms, "gone") == before
    assert Allocation.for_campaign(5, arms, "c") == before
