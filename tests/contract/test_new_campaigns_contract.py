"""The NewCampaigns port on every adapter: what it stores reads back through the repository, the
listing and the outbox exactly as the unit of work's own inserts would have stored it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import replace

import pytest

from adapters.sql.campaigns.inserts import INSERT_CONNECTIONS, RawNewCampaigns
from adapters.sql.campaigns.lookup_statements import raw_statements
from adapters.sql.engine import make_engine
from adapters.sql.unit_of_work import SqlStore
from domain.campaigns.listing import CampaignFilter, CampaignQuery
from domain.campaigns.model import Channel
from domain.campaigns.ports import NewCampaigns
from domain.kernel.errors import (
    DependencyUnavailableError,
    DuplicateRequestError,
    UnstorableValueError,
)
from tests.contract.builders import ORG, OTHER_ORG, campaign, event, rich_campaign
from tests.contract.conftest import Backend
from tests.contract.steps import list_page, load, pending, store
from tests.support.services import free_port


def new_campaigns(backend: Backend) -> NewCampaigns:
    assert backend.new_campaigns is not None
    return backend.new_campaigns


async def test_a_campaign_and_its_events_read_back_unchanged(backend: Backend) -> None:
    stored = rich_campaign()
    events = [event(1), event(2)]

    await new_campaigns(backend).add(stored, events)

    assert await load(backend.unit_of_work, ORG, stored.campaign_id) == stored
    assert await pending(backend.outbox) == events  # in the order given


async def test_its_tags_and_every_arms_channels_are_filterable(backend: Backend) -> None:
    stored = campaign(
        "c-1",
        tags=("spring", "vip"),
        channels=(Channel.EMAIL,),
        variant_channels=(Channel.SMS,),
    )
    await new_campaigns(backend).add(stored, [])
    await store(backend.unit_of_work, campaign("c-2", tags=("spring",)))

    both_tags = await list_page(
        backend.unit_of_work, ORG, CampaignQuery(filter=CampaignFilter(tags=("spring", "vip")))
    )
    by_variant_channel = await list_page(
        backend.unit_of_work, ORG, CampaignQuery(filter=CampaignFilter(channel=Channel.SMS))
    )
    by_own_channel = await list_page(
        backend.unit_of_work, ORG, CampaignQuery(filter=CampaignFilter(channel=Channel.EMAIL))
    )

    assert [c.campaign_id for c in both_tags.campaigns] == ["c-1"]
    assert [c.campaign_id for c in by_variant_channel.campaigns] == ["c-1"]
    assert [c.campaign_id for c in by_own_channel.campaigns] == ["c-1"]


async def test_a_campaign_without_facets_or_events_is_stored_alone(backend: Backend) -> None:
    await new_campaigns(backend).add(campaign("c-1"), [])

    assert await load(backend.unit_of_work, ORG, "c-1") == campaign("c-1")
    assert await pending(backend.outbox) == []


async def test_a_taken_request_id_stores_nothing(backend: Backend) -> None:
    await new_campaigns(backend).add(campaign("c-1", request_id="req-1"), [event(1)])

    with pytest.raises(DuplicateRequestError):
        await new_campaigns(backend).add(
            campaign("c-2", request_id="req-1", tags=("x",)), [event(2)]
        )

    assert await load(backend.unit_of_work, ORG, "c-2") is None
    assert [e.event_id for e in await pending(backend.outbox)] == ["evt-0001"]
    tagged = await list_page(
        backend.unit_of_work, ORG, CampaignQuery(filter=CampaignFilter(tags=("x",)))
    )
    assert not tagged.campaigns


async def test_a_request_id_is_taken_per_organization(backend: Backend) -> None:
    await new_campaigns(backend).add(campaign("c-1", request_id="req-1"), [])

    await new_campaigns(backend).add(
        campaign("c-2", organization_id=OTHER_ORG, request_id="req-1"), []
    )

    assert await load(backend.unit_of_work, OTHER_ORG, "c-2") is not None


async def test_concurrent_adds_with_one_request_id_store_one(backend: Backend) -> None:
    outcomes = await asyncio.gather(
        *(
            new_campaigns(backend).add(campaign(f"c-{i}", request_id="req-1"), [event(i)])
            for i in range(6)
        ),
        return_exceptions=True,
    )

    assert sum(outcome is None for outcome in outcomes) == 1
    assert all(
        isinstance(outcome, DuplicateRequestError) for outcome in outcomes if outcome is not None
    ), outcomes
    assert len(await pending(backend.outbox)) == 1


async def test_many_adds_at_once_are_all_stored(backend: Backend) -> None:
    count = INSERT_CONNECTIONS * 3  # more than the Postgres adapter's connections

    await asyncio.gather(
        *(new_campaigns(backend).add(campaign(f"c-{i:02d}"), [event(i)]) for i in range(count))
    )

    page = await list_page(backend.unit_of_work, ORG, CampaignQuery(page_size=100))
    assert page.total_size == count
    assert len(await pending(backend.outbox)) == count


@pytest.mark.postgres
async def test_a_value_postgres_cannot_store_is_the_clients_error(
    postgres_backend: Backend,
) -> None:
    with pytest.raises(UnstorableValueError):
        await new_campaigns(postgres_backend).add(
            replace(campaign("c-1"), created_by="nul\x00byte"), []
        )

    assert await load(postgres_backend.unit_of_work, ORG, "c-1") is None
    # The connection it failed on was replaced: the next add is stored.
    await new_campaigns(postgres_backend).add(campaign("c-2"), [])
    assert await load(postgres_backend.unit_of_work, ORG, "c-2") is not None


@pytest.mark.postgres
async def test_an_outage_fails_every_waiting_create_as_unavailable() -> None:
    engine = make_engine(f"postgresql+asyncpg://postgres@127.0.0.1:{free_port()}/none")
    inserts = RawNewCampaigns(raw_statements(engine, connections=2), SqlStore(engine).trace)
    try:
        outcomes = await asyncio.gather(
            *(inserts.add(campaign(f"c-{i}"), [event(i)]) for i in range(6)),
            return_exceptions=True,
        )
    finally:
        await inserts.close()
        await engine.dispose()

    assert all(isinstance(o, DependencyUnavailableError) for o in outcomes), outcomes
    assert len({id(o) for o in outcomes}) == 6  # an error object per caller


def raw_inserts(backend: Backend) -> RawNewCampaigns:
    assert isinstance(backend.new_campaigns, RawNewCampaigns)
    return backend.new_campaigns


async def test_creates_asked_together_share_statements(postgres_backend: Backend) -> None:
    inserts = raw_inserts(postgres_backend)
    before = inserts.statements

    await asyncio.gather(*(inserts.add(campaign(f"c-{i:02d}"), [event(i)]) for i in range(20)))

    # one alone on each of the 2 connections; the 18 asked meanwhile share the next statement
    assert inserts.statements - before == 3
    page = await list_page(postgres_backend.unit_of_work, ORG, CampaignQuery(page_size=50))
    assert page.total_size == 20
    assert len(await pending(postgres_backend.outbox)) == 20


async def test_one_bad_create_in_a_shared_statement_fails_only_its_caller(
    postgres_backend: Backend,
) -> None:
    inserts = raw_inserts(postgres_backend)
    await inserts.add(campaign("c-0", request_id="req-taken"), [])

    outcomes = await asyncio.gather(
        inserts.add(campaign("c-1"), [event(1)]),  # alone
        inserts.add(campaign("c-2"), [event(2)]),  # alone
        inserts.add(campaign("c-3"), [event(3)]),  # these four share a statement, which fails
        inserts.add(campaign("c-4", request_id="req-taken"), [event(4)]),
        inserts.add(replace(campaign("c-5"), created_by="nul\x00byte"), [event(5)]),
        inserts.add(campaign("c-6", tags=("x",)), [event(6)]),
        return_exceptions=True,
    )

    assert outcomes[:3] == [None, None, None]
    assert isinstance(outcomes[3], DuplicateRequestError)
    assert isinstance(outcomes[4], UnstorableValueError)
    assert outcomes[5] is None
    stored = await list_page(postgres_backend.unit_of_work, ORG, CampaignQuery(page_size=50))
    assert sorted(c.campaign_id for c in stored.campaigns) == ["c-0", "c-1", "c-2", "c-3", "c-6"]
    events = sorted(e.event_id for e in await pending(postgres_backend.outbox))
    assert events == ["evt-0001", "evt-0002", "evt-0003", "evt-0006"]


@pytest.fixture
async def gathering(postgres_backend: Backend) -> AsyncIterator[RawNewCampaigns]:
    """Creates that wait a minute for company while crowded: whether one waits is then plain
    to see, and a full batch must start it."""
    assert postgres_backend.engine is not None
    inserts = RawNewCampaigns(
        raw_statements(postgres_backend.engine, connections=1),
        SqlStore(postgres_backend.engine).trace,
        in_flight=1,
        max_batch=3,
        gather_s=60,
    )
    yield inserts
    await inserts.close()


async def test_creates_one_after_another_never_wait(gathering: RawNewCampaigns) -> None:
    for i in range(4):
        await asyncio.wait_for(gathering.add(campaign(f"c-{i}"), []), timeout=30)

    assert not gathering.crowded


async def test_a_crowded_create_waits_for_company_until_its_batch_is_full(
    gathering: RawNewCampaigns, postgres_backend: Backend
) -> None:
    await asyncio.gather(*(gathering.add(campaign(f"c-{i}"), []) for i in range(3)))
    assert gathering.crowded
    before = gathering.statements

    first = asyncio.ensure_future(gathering.add(campaign("c-3"), []))
    for _ in range(20):
        await asyncio.sleep(0)
    assert not first.done()  # gathering, not writing
    assert gathering.statements == before
    rest = [gathering.add(campaign(f"c-{i}"), []) for i in (4, 5)]  # the batch fills up

    await asyncio.wait_for(asyncio.gather(first, *rest), timeout=30)

    assert gathering.statements == before + 1
    assert await load(postgres_backend.unit_of_work, ORG, "c-5") is not None


async def test_creates_gathering_when_the_writer_closes_are_stored(
    gathering: RawNewCampaigns, postgres_backend: Backend
) -> None:
    await asyncio.gather(*(gathering.add(campaign(f"c-{i}"), []) for i in range(3)))
    waiting = asyncio.ensure_future(gathering.add(campaign("c-9"), []))
    await asyncio.sleep(0)

    await gathering.close()

    await asyncio.wait_for(waiting, timeout=30)
    assert await load(postgres_backend.unit_of_work, ORG, "c-9") is not None


class FixedTrace:
    def current(self) -> str | None:
        return "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"


async def test_events_carry_the_trace_they_were_recorded_in(sql_backend: Backend) -> None:
    assert sql_backend.engine is not None
    traced = SqlStore(sql_backend.engine, trace=FixedTrace())
    own = replace(event(2), trace_context="00-ffffffffffffffffffffffffffffffff-0000000000000001-01")
    try:
        await traced.new_campaigns().add(campaign("c-1"), [event(1), own])
    finally:
        await traced.close()

    recorded = await pending(sql_backend.outbox)

    assert [e.trace_context for e in recorded] == [FixedTrace().current(), own.trace_context]
