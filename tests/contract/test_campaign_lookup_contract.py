"""CampaignReads contract (GetCampaign's reads): the same answers from every adapter, however
many callers read at once; on SQL the concurrent reads share statements."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import timedelta

import pytest
from sqlalchemy import text

from adapters.sql.campaigns.lookup import CoalescedCampaignLookup
from adapters.sql.campaigns.reads import PAGE_CONNECTIONS, SqlCampaignReads
from adapters.sql.campaigns.spec_cache import SpecCache
from adapters.sql.engine import make_engine
from domain.campaigns.listing import CampaignFilter, CampaignQuery, Ordering
from domain.campaigns.model import CampaignStatus
from domain.campaigns.ports import CampaignReads
from domain.kernel.errors import DependencyUnavailableError, UnstorableValueError
from tests.contract.builders import ORG, OTHER_ORG, T0, campaign, rich_campaign
from tests.contract.conftest import Backend
from tests.contract.steps import list_page, store
from tests.support.services import free_port


def lookup_of(backend: Backend) -> CampaignReads:
    assert backend.lookup is not None
    return backend.lookup


async def test_a_stored_campaign_reads_back_unchanged(backend: Backend) -> None:
    original = rich_campaign()
    await store(backend.unit_of_work, original)

    assert await lookup_of(backend).campaign(ORG, original.campaign_id) == original


async def test_unknown_ids_and_other_tenants_campaigns_are_not_found(backend: Backend) -> None:
    await store(backend.unit_of_work, campaign("c-1"), campaign("c-2", organization_id=OTHER_ORG))
    lookup = lookup_of(backend)

    found = await asyncio.gather(
        lookup.campaign(ORG, "c-1"),
        lookup.campaign(ORG, "c-2"),  # OTHER_ORG's
        lookup.campaign(OTHER_ORG, "c-1"),  # ORG's
        lookup.campaign(ORG, "c-nope"),
    )

    assert [c.campaign_id if c else None for c in found] == ["c-1", None, None, None]


async def test_concurrent_reads_each_get_their_own_campaign(backend: Backend) -> None:
    ours = [campaign(f"c-{i}") for i in range(30)]
    theirs = [campaign(f"t-{i}", organization_id=OTHER_ORG) for i in range(30)]
    await store(backend.unit_of_work, *ours, *theirs)
    asked = [
        (c.organization_id, c.campaign_id) for pair in zip(ours, theirs, strict=True) for c in pair
    ]
    lookup = lookup_of(backend)

    found = await asyncio.gather(*(lookup.campaign(*key) for key in asked * 2))

    assert [(c.organization_id, c.campaign_id) for c in found if c] == asked * 2
    first, again = found[0], found[len(asked)]
    assert first == again
    assert first is not again  # a campaign of its own for every caller


async def test_a_read_sees_what_was_committed_before_it_was_asked(backend: Backend) -> None:
    original = campaign("c-1")
    await store(backend.unit_of_work, original)
    lookup = lookup_of(backend)
    assert (await lookup.campaign(ORG, "c-1")) == original

    async with backend.unit_of_work() as uow:
        await uow.campaigns.save(replace(original, version=2), expected_version=1)
        await uow.commit()
    reads = await asyncio.gather(*(lookup.campaign(ORG, "c-1") for _ in range(5)))

    assert {read.version for read in reads if read} == {2}


async def test_a_caller_that_leaves_does_not_disturb_the_others(backend: Backend) -> None:
    await store(backend.unit_of_work, campaign("c-1"), campaign("c-2"))
    lookup = lookup_of(backend)

    leaving = asyncio.ensure_future(lookup.campaign(ORG, "c-1"))
    staying = asyncio.ensure_future(lookup.campaign(ORG, "c-2"))
    leaving.cancel()
    found = await staying

    assert found is not None
    assert found.campaign_id == "c-2"
    assert (await lookup.campaign(ORG, "c-1")) is not None  # and the lookup still answers


# --- SQL: coalescing and failures ---------------------------------------------------------------


def coalesced(backend: Backend) -> CoalescedCampaignLookup:
    assert isinstance(backend.lookup, SqlCampaignReads)
    return backend.lookup.lookup


@pytest.fixture
def coalescing(sql_backend: Backend) -> CoalescedCampaignLookup:
    return coalesced(sql_backend)


async def test_reads_asked_together_share_statements(
    sql_backend: Backend, coalescing: CoalescedCampaignLookup
) -> None:
    await store(sql_backend.unit_of_work, *(campaign(f"c-{i}") for i in range(100)))
    before = coalescing.statements

    found = await asyncio.gather(*(coalescing.campaign(ORG, f"c-{i}") for i in range(100)))

    assert all(found)
    # the first read goes out alone, the 99 that queue behind it in batches of at most 64
    assert coalescing.statements - before == 3


@pytest.fixture
async def gathering(sql_backend: Backend) -> AsyncIterator[CoalescedCampaignLookup]:
    """A lookup whose crowded reads wait a minute for company: whether a read waits is then
    plain to see, and a full batch must start it."""
    assert sql_backend.engine is not None
    lookup = CoalescedCampaignLookup(sql_backend.engine, SpecCache(), max_batch=4, gather_s=60)
    await store(sql_backend.unit_of_work, *(campaign(f"c-{i}") for i in range(8)))
    yield lookup
    await lookup.close()


async def test_reads_one_after_another_never_wait(gathering: CoalescedCampaignLookup) -> None:
    for i in range(8):
        found = await asyncio.wait_for(gathering.campaign(ORG, f"c-{i}"), timeout=30)
        assert found is not None

    assert not gathering.crowded


async def test_under_load_a_read_waits_for_company_until_its_batch_is_full(
    gathering: CoalescedCampaignLookup,
) -> None:
    # Reads queued behind a running statement: the lookup is crowded from then on.
    await asyncio.gather(*(gathering.campaign(ORG, f"c-{i}") for i in range(3)))
    assert gathering.crowded
    before = gathering.statements

    first = asyncio.ensure_future(gathering.campaign(ORG, "c-4"))
    for _ in range(20):
        await asyncio.sleep(0)
    assert not first.done()  # gathering, not reading
    assert gathering.statements == before
    rest = [gathering.campaign(ORG, f"c-{i}") for i in range(5, 8)]  # the batch fills up

    found = await asyncio.wait_for(asyncio.gather(first, *rest), timeout=30)

    assert [c.campaign_id for c in found if c is not None] == ["c-4", "c-5", "c-6", "c-7"]
    assert gathering.statements == before + 1


async def test_a_read_that_found_no_company_ends_the_crowd(sql_backend: Backend) -> None:
    assert sql_backend.engine is not None
    lookup = CoalescedCampaignLookup(sql_backend.engine, SpecCache(), gather_s=0.01)
    await store(sql_backend.unit_of_work, *(campaign(f"c-{i}") for i in range(3)))
    try:
        await asyncio.gather(*(lookup.campaign(ORG, f"c-{i}") for i in range(3)))
        assert lookup.crowded

        assert await lookup.campaign(ORG, "c-0") is not None  # waited for company, in vain

        assert not lookup.crowded
    finally:
        await lookup.close()


async def test_reads_gathering_when_the_lookup_closes_are_answered(
    gathering: CoalescedCampaignLookup,
) -> None:
    await asyncio.gather(*(gathering.campaign(ORG, f"c-{i}") for i in range(3)))
    waiting = asyncio.ensure_future(gathering.campaign(ORG, "c-5"))
    await asyncio.sleep(0)

    await gathering.close()

    found = await asyncio.wait_for(waiting, timeout=30)
    assert found is not None
    assert found.campaign_id == "c-5"


async def test_one_callers_bad_id_fails_only_that_call(
    postgres_backend: Backend,
) -> None:
    lookup = coalesced(postgres_backend)
    await store(postgres_backend.unit_of_work, campaign("c-1"), campaign("c-2"))

    found = await asyncio.gather(
        lookup.campaign(ORG, "c-1"),  # goes alone; the next three wait and share a statement
        lookup.campaign(ORG, "c-2"),
        lookup.campaign(ORG, "bad\x00id"),  # Postgres text cannot hold NUL
        lookup.campaign(ORG, "c-1"),
        return_exceptions=True,
    )

    assert [getattr(c, "campaign_id", None) for c in found] == ["c-1", "c-2", None, "c-1"]
    assert isinstance(found[2], UnstorableValueError)


@pytest.mark.postgres
async def test_an_outage_fails_every_waiting_caller_as_unavailable() -> None:
    engine = make_engine(f"postgresql+asyncpg://postgres@127.0.0.1:{free_port()}/none")
    lookup = CoalescedCampaignLookup(engine, SpecCache())
    try:
        found = await asyncio.gather(
            *(lookup.campaign(ORG, f"c-{i}") for i in range(5)), return_exceptions=True
        )
    finally:
        await engine.dispose()

    assert all(isinstance(error, DependencyUnavailableError) for error in found), found
    assert len({id(error) for error in found}) == 5  # an error object per caller


async def test_a_connection_the_database_dropped_is_replaced(postgres_backend: Backend) -> None:
    lookup = coalesced(postgres_backend)
    assert postgres_backend.engine is not None
    await store(postgres_backend.unit_of_work, campaign("c-1"))
    assert await lookup.campaign(ORG, "c-1") is not None
    async with postgres_backend.engine.connect() as connection:
        await connection.execute(
            text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        )

    # Its connection is gone: the next read either sees that first and opens another, or
    # fails as an outage (UNAVAILABLE, retried), never as a bug; the one after it is answered.
    with contextlib.suppress(DependencyUnavailableError):
        await lookup.campaign(ORG, "c-1")
    assert await lookup.campaign(ORG, "c-1") is not None


PAGES = [
    CampaignQuery(),
    CampaignQuery(page_size=1),
    CampaignQuery(page_size=2, ordering=Ordering("name", descending=False)),
    CampaignQuery(page_size=50, ordering=Ordering("updated_at", descending=True)),
    CampaignQuery(filter=CampaignFilter(statuses=frozenset({CampaignStatus.DRAFT}))),
]


@pytest.mark.parametrize("query", PAGES, ids=lambda q: repr(q)[:60])
async def test_pages_are_what_the_repository_lists(backend: Backend, query: CampaignQuery) -> None:
    await store(
        backend.unit_of_work,
        *(campaign(f"c-{i}", name=f"Campaign {i % 3}") for i in range(5)),
        campaign("t-1", organization_id=OTHER_ORG),
    )
    reads = lookup_of(backend)

    page = await reads.page(ORG, query)

    assert page == await list_page(backend.unit_of_work, ORG, query)
    assert {c.organization_id for c in page.campaigns} == {ORG}
    assert page.total_size == 5


async def test_a_first_page_of_an_organization_without_campaigns_is_empty(
    backend: Backend,
) -> None:
    await store(backend.unit_of_work, campaign("t-1", organization_id=OTHER_ORG))

    page = await lookup_of(backend).page(ORG, CampaignQuery())

    assert (page.campaigns, page.next_cursor, page.total_size) == ([], None, 0)


async def test_a_first_page_asked_while_its_connections_are_busy_still_answers(
    postgres_backend: Backend,
) -> None:
    reads = postgres_backend.lookup
    assert isinstance(reads, SqlCampaignReads)
    await store(postgres_backend.unit_of_work, campaign("c-1"), campaign("c-2"))
    statements = reads.pages
    assert statements is not None
    slow = [
        asyncio.ensure_future(statements.fetch("sleep", "SELECT pg_sleep(2)"))
        for _ in range(PAGE_CONNECTIONS)
    ]
    await asyncio.sleep(0.2)
    assert statements.all_busy

    page = await reads.page(ORG, CampaignQuery())  # through the unit of work's pool instead

    assert [c.campaign_id for c in page.campaigns] == ["c-2", "c-1"]
    assert not any(task.done() for task in slow)  # answered while every connection was busy
    await asyncio.gather(*slow)


async def test_a_read_on_its_own_fails_with_what_its_statement_stands_for(
    postgres_backend: Backend,
) -> None:
    with pytest.raises(UnstorableValueError):
        await coalesced(postgres_backend).campaign(ORG, "bad\x00id")


async def test_the_same_first_page_asked_together_shares_statements(
    postgres_backend: Backend,
) -> None:
    reads = postgres_backend.lookup
    assert isinstance(reads, SqlCampaignReads)
    await store(
        postgres_backend.unit_of_work,
        *(campaign(f"c-{i}") for i in range(3)),
        campaign("t-1", organization_id=OTHER_ORG),
    )
    expected = await list_page(postgres_backend.unit_of_work, ORG, CampaignQuery())
    before = reads.shared.statements

    pages = await asyncio.gather(*(reads.page(ORG, CampaignQuery()) for _ in range(20)))
    statements = reads.shared.statements - before
    theirs = await reads.page(OTHER_ORG, CampaignQuery())

    assert all(page == expected for page in pages)
    # the first goes out alone, the 19 asked while it ran share the next one
    assert statements == 2
    # Shared rows, never shared campaigns: each caller holds objects of its own.
    assert pages[0].campaigns[0] is not pages[1].campaigns[0]
    assert [c.campaign_id for c in theirs.campaigns] == ["t-1"]


async def test_a_first_page_asked_after_a_write_sees_it(postgres_backend: Backend) -> None:
    reads = postgres_backend.lookup
    assert isinstance(reads, SqlCampaignReads)
    await store(postgres_backend.unit_of_work, campaign("c-1"))
    crowd = [asyncio.ensure_future(reads.page(ORG, CampaignQuery())) for _ in range(10)]
    await asyncio.sleep(0)

    await store(postgres_backend.unit_of_work, campaign("c-2", created_at=T0 + timedelta(hours=1)))
    after = await reads.page(ORG, CampaignQuery())

    assert [c.campaign_id for c in after.campaigns] == ["c-2", "c-1"]
    await asyncio.gather(*crowd)
