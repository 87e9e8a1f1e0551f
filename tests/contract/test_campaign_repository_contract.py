"""CampaignRepository and UnitOfWork contract: the same behaviour from every adapter."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import timedelta

import pytest

from domain.campaigns.listing import CampaignFilter, CampaignQuery
from domain.campaigns.model import CampaignStatus, Schedule
from domain.kernel.channels import Channel
from domain.kernel.errors import DuplicateRequestError, StaleEtagError
from tests.contract.builders import ORG, OTHER_ORG, T0, campaign, event, rich_campaign
from tests.contract.conftest import Backend
from tests.contract.steps import list_page, load, pending, store


async def test_rich_campaign_round_trips_unchanged(backend: Backend) -> None:
    original = rich_campaign()

    await store(backend.unit_of_work, original)
    loaded = await load(backend.unit_of_work, ORG, original.campaign_id)

    assert loaded == original


async def test_minimal_campaign_round_trips_unchanged(backend: Backend) -> None:
    original = campaign("c-min")

    await store(backend.unit_of_work, original)

    assert await load(backend.unit_of_work, ORG, "c-min") == original


async def test_campaign_is_found_by_its_request_id(backend: Backend) -> None:
    await store(backend.unit_of_work, campaign("c-1", request_id="req-1"), campaign("c-2"))

    async with backend.unit_of_work() as uow:
        found = await uow.campaigns.get_by_request_id(ORG, "req-1")
        missing = await uow.campaigns.get_by_request_id(ORG, "req-unknown")

    assert found is not None
    assert found.campaign_id == "c-1"
    assert missing is None


async def test_saved_changes_round_trip(backend: Backend) -> None:
    await store(backend.unit_of_work, campaign("c-1", tags=("old",)))
    changed = replace(
        rich_campaign("c-1"),
        version=2,
        status=CampaignStatus.SCHEDULED,
        schedule=Schedule(scheduled_at=T0 + timedelta(days=3)),
        request_id=None,
        request_fingerprint=None,
    )

    async with backend.unit_of_work() as uow:
        await uow.campaigns.save(changed, expected_version=1)
        await uow.commit()

    assert await load(backend.unit_of_work, ORG, "c-1") == changed


async def test_saving_replaces_the_tags_and_channels_the_list_filters_on(backend: Backend) -> None:
    before = campaign("c-1", tags=("old", "kept"), channels=(Channel.SMS,))
    await store(backend.unit_of_work, before)
    after = replace(campaign("c-1", tags=("kept", "new"), channels=(Channel.EMAIL,)), version=2)

    async with backend.unit_of_work() as uow:
        await uow.campaigns.save(after, expected_version=1)
        await uow.commit()

    async def matches(query_filter: CampaignFilter) -> bool:
        page = await list_page(backend.unit_of_work, ORG, CampaignQuery(filter=query_filter))
        return page.total_size == 1

    tags = [await matches(CampaignFilter(tags=(t,))) for t in ("old", "kept", "new")]
    channels = [await matches(CampaignFilter(channel=c)) for c in (Channel.SMS, Channel.EMAIL)]
    assert (tags, channels) == ([False, True, True], [False, True])


async def test_stale_save_is_rejected(backend: Backend) -> None:
    await store(backend.unit_of_work, campaign("c-1"))
    first, second = (replace(campaign("c-1", name=name), version=2) for name in ("First", "Second"))
    async with backend.unit_of_work() as uow:
        await uow.campaigns.save(first, expected_version=1)
        await uow.commit()

    async with backend.unit_of_work() as uow:
        with pytest.raises(StaleEtagError):
            await uow.campaigns.save(second, expected_version=1)

    stored = await load(backend.unit_of_work, ORG, "c-1")
    assert stored is not None
    assert (stored.spec.name, stored.version) == ("First", 2)


async def test_saving_a_missing_campaign_is_rejected(backend: Backend) -> None:
    async with backend.unit_of_work() as uow:
        with pytest.raises(StaleEtagError):
            await uow.campaigns.save(campaign("c-ghost"), expected_version=1)


async def test_duplicate_request_id_is_rejected_and_the_transaction_stays_usable(
    backend: Backend,
) -> None:
    await store(backend.unit_of_work, campaign("c-1", request_id="req-1"))

    async with backend.unit_of_work() as uow:
        await uow.campaigns.add(campaign("c-2"))
        with pytest.raises(DuplicateRequestError):
            await uow.campaigns.add(campaign("c-3", request_id="req-1"))
        await uow.campaigns.add(campaign("c-4"))
        await uow.outbox.add([event(1)])
        await uow.commit()

    present = [await load(backend.unit_of_work, ORG, c) is not None for c in ("c-2", "c-3", "c-4")]
    assert present == [True, False, True]
    assert [e.event_id for e in await pending(backend.outbox)] == ["evt-0001"]


async def test_duplicate_request_id_within_one_transaction_is_rejected(backend: Backend) -> None:
    async with backend.unit_of_work() as uow:
        await uow.campaigns.add(campaign("c-1", request_id="req-1"))

        with pytest.raises(DuplicateRequestError):
            await uow.campaigns.add(campaign("c-2", request_id="req-1"))


async def test_request_ids_are_scoped_by_organization(backend: Backend) -> None:
    await store(
        backend.unit_of_work,
        campaign("c-1", request_id="req-1"),
        campaign("c-2", organization_id=OTHER_ORG, request_id="req-1"),
    )

    async with backend.unit_of_work() as uow:
        mine = await uow.campaigns.get_by_request_id(ORG, "req-1")
        theirs = await uow.campaigns.get_by_request_id(OTHER_ORG, "req-1")

    assert (mine and mine.campaign_id, theirs and theirs.campaign_id) == ("c-1", "c-2")


async def test_campaigns_without_a_request_id_never_collide(backend: Backend) -> None:
    await store(backend.unit_of_work, campaign("c-1"), campaign("c-2"))

    page = await list_page(backend.unit_of_work, ORG, CampaignQuery())

    assert page.total_size == 2


async def test_another_organizations_campaign_cannot_be_read(backend: Backend) -> None:
    await store(backend.unit_of_work, campaign("c-1", request_id="req-1"))

    async with backend.unit_of_work() as uow:
        by_id = await uow.campaigns.get(OTHER_ORG, "c-1")
        by_request = await uow.campaigns.get_by_request_id(OTHER_ORG, "req-1")
        page = await uow.campaigns.list(OTHER_ORG, CampaignQuery())

    assert (by_id, by_request, page.campaigns, page.total_size) == (None, None, [], 0)


async def test_another_organizations_campaign_cannot_be_deleted(backend: Backend) -> None:
    await store(backend.unit_of_work, campaign("c-1"))

    async with backend.unit_of_work() as uow:
        deleted = await uow.campaigns.delete(OTHER_ORG, "c-1")
        await uow.commit()

    assert deleted is False
    assert await load(backend.unit_of_work, ORG, "c-1") is not None


async def test_another_organizations_campaign_cannot_be_saved(backend: Backend) -> None:
    await store(backend.unit_of_work, campaign("c-1", name="Mine"))
    hijacked = replace(campaign("c-1", organization_id=OTHER_ORG, name="Theirs"), version=2)

    async with backend.unit_of_work() as uow:
        with pytest.raises(StaleEtagError):
            await uow.campaigns.save(hijacked, expected_version=1)

    stored = await load(backend.unit_of_work, ORG, "c-1")
    assert stored is not None
    assert stored.spec.name == "Mine"


async def test_delete_reports_whether_a_campaign_went(backend: Backend) -> None:
    await store(backend.unit_of_work, campaign("c-1"))

    async with backend.unit_of_work() as uow:
        first = await uow.campaigns.delete(ORG, "c-1")
        second = await uow.campaigns.delete(ORG, "c-1")
        await uow.commit()

    assert (first, second) == (True, False)
    assert await load(backend.unit_of_work, ORG, "c-1") is None


async def test_deleted_campaign_leaves_nothing_behind_for_its_id(backend: Backend) -> None:
    await store(backend.unit_of_work, campaign("c-1", tags=("a",), channels=(Channel.SMS,)))
    async with backend.unit_of_work() as uow:
        await uow.campaigns.delete(ORG, "c-1")
        await uow.commit()

    await store(backend.unit_of_work, campaign("c-1", tags=("a",), channels=(Channel.SMS,)))

    query = CampaignQuery(filter=CampaignFilter(tags=("a",), channel=Channel.SMS))
    assert (await list_page(backend.unit_of_work, ORG, query)).total_size == 1


async def test_uncommitted_unit_of_work_leaves_nothing(backend: Backend) -> None:
    async with backend.unit_of_work() as uow:
        await uow.campaigns.add(campaign("c-1"))
        await uow.outbox.add([event(1)])

    assert await load(backend.unit_of_work, ORG, "c-1") is None
    assert await pending(backend.outbox) == []


async def test_unit_of_work_left_by_an_exception_leaves_nothing(backend: Backend) -> None:
    await store(backend.unit_of_work, campaign("c-1", name="Before"))

    async def change_then_fail() -> None:
        async with backend.unit_of_work() as uow:
            renamed = replace(campaign("c-1", name="After"), version=2)
            await uow.campaigns.save(renamed, expected_version=1)
            await uow.campaigns.add(campaign("c-2"))
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        await change_then_fail()

    kept = await load(backend.unit_of_work, ORG, "c-1")
    assert kept is not None
    assert kept.spec.name == "Before"
    assert await load(backend.unit_of_work, ORG, "c-2") is None


async def test_work_after_a_commit_needs_its_own_commit(backend: Backend) -> None:
    async with backend.unit_of_work() as uow:
        await uow.campaigns.add(campaign("c-1"))
        await uow.commit()
        await uow.campaigns.add(campaign("c-2"))

    found = [await load(backend.unit_of_work, ORG, c) is not None for c in ("c-1", "c-2")]
    assert found == [True, False]


async def test_concurrent_read_modify_write_loses_no_update(backend: Backend) -> None:
    await store(backend.unit_of_work, campaign("c-1", tags=()))

    async def add_tag(tag: str) -> None:
        while True:  # what a client does on ABORTED: read again, reapply, retry
            try:
                async with backend.unit_of_work() as uow:
                    current = await uow.campaigns.get(ORG, "c-1")
                    assert current is not None
                    await asyncio.sleep(0)  # let the others read the same version
                    expected, current.version = current.version, current.version + 1
                    current.spec = replace(current.spec, tags=(*current.spec.tags, tag))
                    await uow.campaigns.save(current, expected_version=expected)
                    await uow.commit()
                    return
            except StaleEtagError:
                continue

    tags = [f"t{n}" for n in range(6)]
    await asyncio.gather(*(add_tag(tag) for tag in tags))

    final = await load(backend.unit_of_work, ORG, "c-1")
    assert final is not None
    assert (sorted(final.spec.tags), final.version) == (tags, 1 + len(tags))


async def test_names_starting_with_a_prefix_are_found_literally(backend: Backend) -> None:
    names = ["Copy of A", "Copy of A (2)", "Copy of A_b", "Copy of AB", "Copy of 100%", "copy"]
    await store(
        backend.unit_of_work,
        *(campaign(f"c-{i}", name=name) for i, name in enumerate(names)),
        campaign("x-1", organization_id=OTHER_ORG, name="Copy of A (3)"),
    )

    async with backend.unit_of_work(read_only=True) as uow:
        found = await uow.campaigns.names_starting_with(ORG, "Copy of A")
        wildcard = await uow.campaigns.names_starting_with(ORG, "Copy of A_")
        percent = await uow.campaigns.names_starting_with(ORG, "Copy of 100%")
        nothing = await uow.campaigns.names_starting_with(ORG, "Copy of Z")

    # Exact-case matches are all there; a store may add names differing in case only.
    assert {"Copy of A", "Copy of A (2)", "Copy of A_b", "Copy of AB"} <= found
    assert all(n.lower().startswith("copy of a") for n in found)
    assert "Copy of A (3)" not in found  # another organization's
    assert wildcard == {"Copy of A_b"}  # "_" is not a wildcard
    assert percent == {"Copy of 100%"}
    assert nothing == set()


async def test_winner_pending_pages_through_undecided_campaigns_that_still_send(
    backend: Backend,
) -> None:
    await store(
        backend.unit_of_work,
        replace(campaign("c-1"), status=CampaignStatus.RUNNING),
        replace(campaign("c-2", organization_id=OTHER_ORG), status=CampaignStatus.ACTIVE),
        replace(campaign("c-3"), status=CampaignStatus.SCHEDULED),
        replace(campaign("c-4"), status=CampaignStatus.RUNNING, winner_variant_id="v-1"),
        replace(campaign("c-5"), status=CampaignStatus.COMPLETED),
        campaign("c-6"),  # a draft
        replace(campaign("c-7"), status=CampaignStatus.RUNNING),
    )

    async with backend.unit_of_work(read_only=True) as uow:
        first = await uow.campaigns.winner_pending("", 2)
        second = await uow.campaigns.winner_pending(first[-1].campaign_id, 2)

    assert [c.campaign_id for c in first] == ["c-1", "c-2"]  # across organizations
    assert [c.campaign_id for c in second] == ["c-3", "c-7"]
