"""CampaignRepository.list contract: filters, orderings and keyset pages agree on every adapter.

The catalog is small but adversarial: ties on every sort key, names that differ only in case or
accents, LIKE wildcards in names, channels present only in variants, instants with microseconds.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

import pytest

from domain.campaigns.campaign import Campaign
from domain.campaigns.listing import CampaignFilter, CampaignQuery, Ordering
from domain.campaigns.model import CampaignStatus as S
from domain.campaigns.model import CampaignType as K
from domain.kernel.channels import Channel as C
from tests.contract.builders import ORG, OTHER_ORG, T0, campaign
from tests.contract.conftest import Backend
from tests.contract.steps import list_page, store


def at(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


def _entry(  # noqa: PLR0917 - one positional argument per catalog column
    cid: str,
    name: str,
    kind: str,
    status: str,
    created: float,
    updated: float,
    tags: str = "",
    channels: str = "",
    variants: str = "",
    run: float | None = None,
) -> Campaign:
    """One catalog row; hours after T0, tags and channels as space-separated words."""
    return campaign(
        cid,
        name=name,
        campaign_type=K(kind),
        status=S(status),
        created_at=at(created),
        updated_at=at(updated),
        tags=tuple(tags.split()),
        channels=tuple(C(c) for c in channels.split()),
        variant_channels=tuple(C(c) for c in variants.split()),
        next_run_at=None if run is None else at(run),
    )


def _catalog() -> list[Campaign]:
    mine = [
        _entry("c01", "Alpha launch", "scheduled", "draft", 1, 9, "spring vip", "email"),
        _entry("c02", "alpha beta", "scheduled", "scheduled", 2, 2, "spring", "sms", run=720),
        _entry("c03", "Beta 100%", "triggered", "active", 2, 5, "vip", variants="email whatsapp"),
        _entry("c04", "beta_1", "transactional", "active", 3, 3, channels="webhook"),
        _entry(
            "c05", "Émile", "scheduled", "paused", 4, 8, "spring vip q3", "in_app email", run=240
        ),
        _entry("c06", "émilie", "scheduled", "completed", 5, 6, "q3", "email"),
        _entry("c07", "Zeta", "triggered", "cancelled", 6, 7, variants="sms"),
        _entry("c08", "_underscore", "scheduled", "scheduled", 7, 1, "vip", "email", run=480),
        _entry("c09", "Zeta", "transactional", "draft", 8, 7, channels="sms"),
    ]
    # Microseconds in an instant, so cursors and range bounds must keep them.
    mine[4] = replace(mine[4], created_at=mine[4].created_at + timedelta(microseconds=123_456))
    theirs = campaign("x01", organization_id=OTHER_ORG, name="Alpha other", tags=("spring",))
    return [*mine, replace(theirs, spec=replace(theirs.spec, channels=mine[0].spec.channels))]


@pytest.fixture
async def catalog(backend: Backend) -> Backend:
    await store(backend.unit_of_work, *_catalog())
    return backend


ORDERS = {
    "created_at": ["c01", "c02", "c03", "c04", "c05", "c06", "c07", "c08", "c09"],
    "updated_at": ["c08", "c02", "c04", "c03", "c06", "c07", "c09", "c05", "c01"],
    # Code point order: upper case, then "_", then lower case, then accented letters.
    "name": ["c01", "c03", "c07", "c09", "c08", "c02", "c04", "c05", "c06"],
    # The next run; campaigns without one last, by id.
    "scheduled_at": ["c05", "c08", "c02", "c01", "c03", "c04", "c06", "c07", "c09"],
}
# Where descending is not ascending reversed: campaigns without a next run stay last.
DESCENDING = {
    "scheduled_at": ["c02", "c08", "c05", "c09", "c07", "c06", "c04", "c03", "c01"],
}
ORDERINGS = [
    pytest.param(Ordering(key, descending), id=f"{key}-{'desc' if descending else 'asc'}")
    for key in ORDERS
    for descending in (False, True)
]


def expected_order(ordering: Ordering) -> list[str]:
    ids = ORDERS[ordering.key]
    if ordering.descending:
        return DESCENDING.get(ordering.key, list(reversed(ids)))
    return ids


def ids(campaigns: list[Campaign]) -> list[str]:
    return [c.campaign_id for c in campaigns]


FILTERS = {
    "one status": (CampaignFilter(statuses=(S.ACTIVE,)), {"c03", "c04"}),
    "any of statuses": (
        CampaignFilter(statuses=(S.DRAFT, S.SCHEDULED)),
        {"c01", "c02", "c08", "c09"},
    ),
    "type": (CampaignFilter(campaign_type=K.TRIGGERED), {"c03", "c07"}),
    "channel incl. variants": (
        CampaignFilter(channel=C.EMAIL),
        {"c01", "c03", "c05", "c06", "c08"},
    ),
    "channel only in a variant": (CampaignFilter(channel=C.WHATSAPP), {"c03"}),
    "name prefix ignores case": (CampaignFilter(name_prefix="ALPHA"), {"c01", "c02"}),
    "name prefix folds accents' case": (CampaignFilter(name_prefix="émil"), {"c05", "c06"}),
    "name prefix _ is literal": (CampaignFilter(name_prefix="beta_"), {"c04"}),
    "name prefix % is literal": (CampaignFilter(name_prefix="beta%"), set()),
    "name prefix lone _": (CampaignFilter(name_prefix="_"), {"c08"}),
    "name prefix, duplicates": (CampaignFilter(name_prefix="zeta"), {"c07", "c09"}),
    "one tag": (CampaignFilter(tags=("spring",)), {"c01", "c02", "c05"}),
    "all tags required": (CampaignFilter(tags=("spring", "vip")), {"c01", "c05"}),
    "three tags": (CampaignFilter(tags=("q3", "vip", "spring")), {"c05"}),
    "unknown tag": (CampaignFilter(tags=("nope",)), set()),
    "created after is inclusive": (
        CampaignFilter(created_after=at(2)),
        {"c02", "c03", "c04", "c05", "c06", "c07", "c08", "c09"},
    ),
    "created before is exclusive": (CampaignFilter(created_before=at(2)), {"c01"}),
    "created range": (
        CampaignFilter(created_after=at(2), created_before=at(4)),
        {"c02", "c03", "c04"},
    ),
    "created range keeps microseconds": (
        CampaignFilter(created_after=at(4) + timedelta(microseconds=123_457)),
        {"c06", "c07", "c08", "c09"},
    ),
    "scheduled after is inclusive": (CampaignFilter(scheduled_after=at(20 * 24)), {"c02", "c08"}),
    "scheduled before is exclusive": (CampaignFilter(scheduled_before=at(20 * 24)), {"c05"}),
    "combined status, channel, tag": (
        CampaignFilter(statuses=(S.SCHEDULED,), channel=C.EMAIL, tags=("vip",)),
        {"c08"},
    ),
    "combined type, prefix, created": (
        CampaignFilter(campaign_type=K.SCHEDULED, name_prefix="É", created_before=at(5)),
        {"c05"},
    ),
}


@pytest.mark.parametrize(("query_filter", "expected"), FILTERS.values(), ids=FILTERS.keys())
async def test_each_filter_selects_exactly_the_matching_campaigns(
    catalog: Backend, query_filter: CampaignFilter, expected: set[str]
) -> None:
    query = CampaignQuery(filter=query_filter, page_size=100)

    page = await list_page(catalog.unit_of_work, ORG, query)

    assert set(ids(page.campaigns)) == expected
    assert page.total_size == len(expected)


@pytest.mark.parametrize("ordering", ORDERINGS)
async def test_each_ordering_sorts_with_the_id_breaking_ties(
    catalog: Backend, ordering: Ordering
) -> None:
    page = await list_page(
        catalog.unit_of_work, ORG, CampaignQuery(ordering=ordering, page_size=100)
    )

    assert ids(page.campaigns) == expected_order(ordering)
    assert page.next_cursor is None


@pytest.mark.parametrize("ordering", ORDERINGS)
async def test_walking_the_pages_returns_every_campaign_once_in_order(
    catalog: Backend, ordering: Ordering
) -> None:
    for page_size in (1, 2, 4, 8, 9, 10):
        seen, sizes = await _walk(catalog, CampaignQuery(ordering=ordering, page_size=page_size))

        assert seen == expected_order(ordering), f"page_size={page_size}"
        assert all(size == page_size for size in sizes[:-1])
        assert 0 < sizes[-1] <= page_size


async def test_walking_filtered_pages_keeps_the_filter_and_the_total(catalog: Backend) -> None:
    query = CampaignQuery(
        filter=CampaignFilter(tags=("vip",)), ordering=Ordering("name", False), page_size=1
    )

    seen, sizes = await _walk(catalog, query)

    assert seen == ["c01", "c03", "c08", "c05"]
    assert sizes == [1, 1, 1, 1]


async def _walk(backend: Backend, query: CampaignQuery) -> tuple[list[str], list[int]]:
    """Follow next_cursor to the end; every page must report the same total."""
    seen: list[str] = []
    sizes: list[int] = []
    totals: set[int] = set()
    while True:
        page = await list_page(backend.unit_of_work, ORG, query)
        seen += ids(page.campaigns)
        sizes.append(len(page.campaigns))
        totals.add(page.total_size)
        if page.next_cursor is None or len(sizes) > 20:
            break
        query = replace(query, after=page.next_cursor)
    assert totals == {len(seen)}
    return seen, sizes


@pytest.mark.parametrize(
    ("page_size", "returned", "has_next"), [(8, 8, True), (9, 9, False), (50, 9, False)]
)
async def test_next_cursor_is_given_only_when_more_campaigns_follow(
    catalog: Backend, page_size: int, returned: int, has_next: bool
) -> None:
    page = await list_page(catalog.unit_of_work, ORG, CampaignQuery(page_size=page_size))

    assert len(page.campaigns) == returned
    assert (page.next_cursor is not None) == has_next
    assert page.total_size == 9


async def test_page_size_zero_returns_no_campaigns_but_counts_them(catalog: Backend) -> None:
    page = await list_page(catalog.unit_of_work, ORG, CampaignQuery(page_size=0))

    assert (page.campaigns, page.next_cursor, page.total_size) == ([], None, 9)


async def test_empty_organization_lists_nothing(backend: Backend) -> None:
    page = await list_page(backend.unit_of_work, "org-empty", CampaignQuery())

    assert (page.campaigns, page.next_cursor, page.total_size) == ([], None, 0)


async def test_next_page_resumes_after_the_cursor_even_if_that_campaign_is_gone(
    catalog: Backend,
) -> None:
    query = CampaignQuery(ordering=Ordering("created_at", False), page_size=3)
    first = await list_page(catalog.unit_of_work, ORG, query)
    assert first.next_cursor is not None
    async with catalog.unit_of_work() as uow:
        await uow.campaigns.delete(ORG, first.next_cursor.campaign_id)
        await uow.commit()

    second = await list_page(catalog.unit_of_work, ORG, replace(query, after=first.next_cursor))

    assert ids(second.campaigns) == ["c04", "c05", "c06"]
    assert second.total_size == 8
