"""The campaign use cases on every adapter: what a gRPC call does end to end below the server."""

from __future__ import annotations

import asyncio
from dataclasses import replace

import pytest

from adapters.system import UuidGenerator
from domain.campaigns.listing import CampaignFilter, CampaignQuery
from domain.campaigns.model import CampaignStatus
from domain.campaigns.service import CampaignService
from domain.kernel.errors import CampaignNotFoundError, RequestIdReusedError, StaleEtagError
from domain.kernel.principal import Principal, Role
from tests.contract.builders import ORG, OTHER_ORG, FixedClock, rich_spec
from tests.contract.conftest import Backend
from tests.contract.steps import pending

ADMIN = Principal(ORG, "alice", frozenset({Role.ADMIN}))
STRANGER = Principal(OTHER_ORG, "mallory", frozenset({Role.ADMIN}))


@pytest.fixture
def service(backend: Backend) -> CampaignService:
    return CampaignService(
        backend.unit_of_work,
        FixedClock(),
        UuidGenerator(),
        reads=backend.lookup,
        new_campaigns=backend.new_campaigns,
    )


async def test_created_campaign_reads_back_as_created(service: CampaignService) -> None:
    created = await service.create_campaign(ADMIN, rich_spec(), request_id="req-1")

    fetched = await service.get_campaign(ADMIN, created.campaign_id)

    assert fetched == created


async def test_repeated_create_with_the_same_request_id_replays_the_first(
    service: CampaignService,
) -> None:
    first = await service.create_campaign(ADMIN, rich_spec(), request_id="req-1")

    again = await service.create_campaign(ADMIN, rich_spec(), request_id="req-1")

    assert again == first
    assert (await service.list_campaigns(ADMIN, CampaignQuery())).total_size == 1


async def test_a_request_id_reused_for_another_definition_is_refused(
    service: CampaignService,
) -> None:
    await service.create_campaign(ADMIN, rich_spec(), request_id="req-1")

    with pytest.raises(RequestIdReusedError):
        await service.create_campaign(ADMIN, rich_spec("Other name"), request_id="req-1")

    assert (await service.list_campaigns(ADMIN, CampaignQuery())).total_size == 1


async def test_concurrent_creates_with_one_request_id_make_one_campaign(
    service: CampaignService,
) -> None:
    made = await asyncio.gather(
        *(service.create_campaign(ADMIN, rich_spec(), request_id="req-1") for _ in range(5))
    )

    assert len({campaign.campaign_id for campaign in made}) == 1
    assert (await service.list_campaigns(ADMIN, CampaignQuery())).total_size == 1


async def test_a_request_id_is_per_organization(service: CampaignService) -> None:
    mine = await service.create_campaign(ADMIN, rich_spec(), request_id="req-1")

    theirs = await service.create_campaign(STRANGER, rich_spec(), request_id="req-1")

    assert theirs.campaign_id != mine.campaign_id
    assert theirs.organization_id == OTHER_ORG


async def test_a_create_records_one_created_event(
    service: CampaignService, backend: Backend
) -> None:
    created = await service.create_campaign(ADMIN, replace(rich_spec(), tags=("a", "b")))
    await service.create_campaign(ADMIN, rich_spec(), request_id="req-1")
    await service.create_campaign(ADMIN, rich_spec(), request_id="req-1")  # a replay: no event

    events = await pending(backend.outbox)

    assert [e.event_type for e in events] == ["campaign.created", "campaign.created"]
    assert events[0].data["campaign_id"] == created.campaign_id
    assert events[0].organization_id == ORG


async def test_update_with_a_stale_etag_is_rejected(service: CampaignService) -> None:
    created = await service.create_campaign(ADMIN, rich_spec())
    await service.update_campaign(
        ADMIN, created.campaign_id, rich_spec("New"), frozenset({"name"}), etag=created.etag
    )

    with pytest.raises(StaleEtagError):
        await service.update_campaign(
            ADMIN, created.campaign_id, rich_spec("Newer"), frozenset({"name"}), etag=created.etag
        )

    current = await service.get_campaign(ADMIN, created.campaign_id)
    assert (current.spec.name, current.version) == ("New", 2)


async def test_lifecycle_changes_are_persisted(service: CampaignService) -> None:
    created = await service.create_campaign(ADMIN, rich_spec())

    await service.activate_campaign(ADMIN, created.campaign_id)
    paused = await service.pause_campaign(ADMIN, created.campaign_id)

    stored = await service.get_campaign(ADMIN, created.campaign_id)
    assert stored == paused
    assert (stored.status, stored.paused_from, stored.version) == (
        CampaignStatus.PAUSED,
        CampaignStatus.ACTIVE,
        3,
    )


async def test_another_organization_sees_no_campaign(service: CampaignService) -> None:
    created = await service.create_campaign(ADMIN, rich_spec())

    with pytest.raises(CampaignNotFoundError):
        await service.get_campaign(STRANGER, created.campaign_id)
    with pytest.raises(CampaignNotFoundError):
        await service.delete_campaign(STRANGER, created.campaign_id)

    assert (await service.list_campaigns(STRANGER, CampaignQuery())).total_size == 0
    assert await service.get_campaign(ADMIN, created.campaign_id) == created


async def test_cloned_campaign_is_listed_under_its_tags(service: CampaignService) -> None:
    source = await service.create_campaign(ADMIN, rich_spec())

    clone = await service.clone_campaign(ADMIN, source.campaign_id)

    page = await service.list_campaigns(
        ADMIN, CampaignQuery(filter=CampaignFilter(tags=("q2/launch",), name_prefix="copy of"))
    )
    assert [c.campaign_id for c in page.campaigns] == [clone.campaign_id]
    assert clone.cloned_from_id == source.campaign_id


async def test_deleted_campaign_is_gone(service: CampaignService) -> None:
    created = await service.create_campaign(ADMIN, rich_spec())

    await service.delete_campaign(ADMIN, created.campaign_id, etag=created.etag)

    with pytest.raises(CampaignNotFoundError):
        await service.get_campaign(ADMIN, created.campaign_id)
