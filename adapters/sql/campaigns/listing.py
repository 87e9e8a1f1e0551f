"""The list RPC in SQL: filters, ordering and keyset pages with the in-memory adapter's semantics.

Every filter runs in the database so a page costs one indexed query however many campaigns an
organization has; the contract suite checks that both adapters return the same rows in the same
order for the same query.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    Text,
    and_,
    bindparam,
    cast,
    exists,
    func,
    literal,
    or_,
    select,
    tuple_,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from adapters.sql.campaigns.rows import DOCUMENTS, campaign_from_row
from adapters.sql.campaigns.spec_cache import SpecCache
from adapters.sql.campaigns.tables import campaign_channels, campaign_tags, campaigns
from domain.campaigns.campaign import Campaign
from domain.campaigns.listing import (
    MAX_PAGE_SIZE,
    NO_SORT_VALUE,
    CampaignFilter,
    CampaignPage,
    CampaignQuery,
    Cursor,
    Ordering,
)
from domain.kernel.paging import decode_instant

_SORT_COLUMNS = {
    "created_at": campaigns.c.created_at,
    "updated_at": campaigns.c.updated_at,
    "name": campaigns.c.name,
    "scheduled_at": campaigns.c.next_run_at,  # NULL (no next run) last in either direction
}


class folded(FunctionElement[str]):
    """lower() with full Unicode case mapping (SQLite's is overridden in `engine.py`)."""

    type = Text()
    name = "folded"
    inherit_cache = True


@compiles(folded)
def _compile_folded(element: folded, compiler: SQLCompiler, **kw: Any) -> str:
    return f"lower({compiler.process(element.clauses, **kw)})"


@compiles(folded, "postgresql")
def _compile_folded_postgres(element: folded, compiler: SQLCompiler, **kw: Any) -> str:
    # Names are stored with the "C" collation for code point order, whose lower() only folds
    # ASCII; the database's default collation folds the rest.
    return f'lower(({compiler.process(element.clauses, **kw)}) COLLATE "default")'


def filter_clauses(organization_id: str, f: CampaignFilter) -> list[ColumnElement[bool]]:
    c = campaigns.c
    clauses: list[ColumnElement[bool]] = [c.organization_id == organization_id]
    if f.statuses:
        clauses.append(c.status.in_([s.value for s in f.statuses]))
    if f.campaign_type is not None:
        clauses.append(c.campaign_type == f.campaign_type.value)
    if f.channel is not None:
        clauses.append(
            exists().where(
                campaign_channels.c.campaign_id == c.campaign_id,
                campaign_channels.c.channel == f.channel.value,
            )
        )
    if f.name_prefix:
        clauses.append(folded(c.name).startswith(f.name_prefix.lower(), autoescape=True))
    for tag in dict.fromkeys(f.tags):
        clauses.append(
            exists().where(campaign_tags.c.campaign_id == c.campaign_id, campaign_tags.c.tag == tag)
        )
    # Lower bounds inclusive, upper bounds exclusive; a campaign without a next run is never
    # inside a scheduled range (NULL comparisons are false).
    if f.created_after is not None:
        clauses.append(c.created_at >= f.created_after)
    if f.created_before is not None:
        clauses.append(c.created_at < f.created_before)
    if f.scheduled_after is not None:
        clauses.append(c.next_run_at >= f.scheduled_after)
    if f.scheduled_before is not None:
        clauses.append(c.next_run_at < f.scheduled_before)
    return clauses


_NO_FILTER = CampaignFilter()
# The first page without filters, the dashboard's every load: its statements built once per
# (sort key, direction, page size) with the organization as a parameter. Building and cache-keying
# them per call was about a tenth of a ListCampaigns' CPU (docs/performance.md).
_FIRST_PAGES: dict[tuple[str, bool, int], FirstPage] = {}
ORGANIZATION = "organization_id"  # the parameter of the statements first_page_statements returns


@dataclass(frozen=True, slots=True)
class FirstPage:
    """The statements of a first page without filters, organization as parameter ORGANIZATION."""

    counting: Select[int]
    page: Select[Any]  # page_statement: documents as text, for SQLAlchemy's connections
    raw_page: Select[Any]  # the same with the documents as stored, for a driver that does not
    # decode them (adapters/sql/campaigns/reads.py)


def first_page_statements(query: CampaignQuery) -> FirstPage | None:
    """The statements of `query` when it is a first page without filters; None for any other."""
    if query.after is not None or query.filter != _NO_FILTER or query.page_size > MAX_PAGE_SIZE:
        return None  # (page sizes above the RPC's clamp are not kept: the dict stays bounded)
    key = (query.ordering.key, query.ordering.descending, query.page_size)
    statements = _FIRST_PAGES.get(key)
    if statements is None:
        organization: Any = bindparam(ORGANIZATION, type_=Text())
        statements = _FIRST_PAGES[key] = FirstPage(
            count_statement(organization, query),
            page_statement(organization, query),
            page_statement(organization, query, documents_as_text=False),
        )
    return statements


def count_statement(organization_id: str, query: CampaignQuery) -> Select[int]:
    clauses = filter_clauses(organization_id, query.filter)
    return select(func.count()).select_from(campaigns).where(*clauses)


TOTAL = "total_size"  # the column of every page row holding the query's count (not the page's)


def page_statement(
    organization_id: str, query: CampaignQuery, *, documents_as_text: bool = True
) -> Select[Any]:
    """One row more than the page, so the caller knows whether another page follows. Each row
    also holds the count of the whole query (column TOTAL, a subquery Postgres and SQLite run
    once): a page and its total in one round trip, from one snapshot. An empty page says
    nothing of the total: count_statement is then asked on its own.

    `documents_as_text`: the JSON documents as the database's text (rows.campaign_from_row
    decodes one only when the spec cache misses), cast in an outer query over the page's rows:
    cast in the page's own query, Postgres cast every row of the organization before sorting
    them (a plan with a sort), which cost more of its CPU than the decoding saved ours."""
    clauses = filter_clauses(organization_id, query.filter)
    if query.after is not None:
        clauses.append(_after(query.ordering, query.after))
    total = count_statement(organization_id, query).scalar_subquery().label(TOTAL)
    page = (
        select(campaigns, total)
        .where(*clauses)
        .order_by(*_order(query.ordering, campaigns.c))
        .limit(max(query.page_size, 0) + 1)
    )
    if not documents_as_text:
        return page
    rows = page.subquery()
    return select(
        *(column for column in rows.c if column.name not in DOCUMENTS),
        *(cast(rows.c[name], Text).label(name) for name in DOCUMENTS),
    ).order_by(*_order(query.ordering, rows.c))


def _order(ordering: Ordering, columns: Any) -> list[ColumnElement[Any]]:
    column = columns[_SORT_COLUMNS[ordering.key].name]
    by_value = column.desc() if ordering.descending else column.asc()
    if _SORT_COLUMNS[ordering.key].nullable:  # only there: NULLS LAST on a NOT NULL column
        by_value = by_value.nulls_last()  # could cost its index
    by_id = columns["campaign_id"]
    return [by_value, by_id.desc() if ordering.descending else by_id.asc()]


def page_of(
    rows: Sequence[Mapping[Any, Any]], query: CampaignQuery, total: int, specs: SpecCache | None
) -> CampaignPage:
    """The page `rows` of page_statement hold (one row more than the page, if another follows)."""
    found = [campaign_from_row(row, specs) for row in rows]
    page = found[: query.page_size]
    more = len(found) > query.page_size
    cursor = cursor_for(page[-1], query.ordering.key) if page and more else None
    return CampaignPage(page, cursor, total)


def cursor_for(campaign: Campaign, key: str) -> Cursor:
    """The same sort value the in-memory adapter puts in its cursors, so tokens are portable."""
    if key == "name":
        return Cursor(campaign.spec.name, campaign.campaign_id)
    if key == "scheduled_at":
        moment = campaign.next_run_at
        value = NO_SORT_VALUE if moment is None else moment.isoformat()
        return Cursor(value, campaign.campaign_id)
    moment = campaign.updated_at if key == "updated_at" else campaign.created_at
    return Cursor(moment.isoformat(), campaign.campaign_id)


def _after(ordering: Ordering, cursor: Cursor) -> ColumnElement[bool]:
    column = _SORT_COLUMNS[ordering.key]
    after_id = literal(cursor.campaign_id, Text())
    nullable = bool(column.nullable)
    if nullable and cursor.sort_value == NO_SORT_VALUE:
        # Among the rows without a value, which come last: only the id orders them.
        ids = campaigns.c.campaign_id
        return and_(column.is_(None), ids < after_id if ordering.descending else ids > after_id)
    value: str | datetime = cursor.sort_value
    if ordering.key != "name":
        value = decode_instant(cursor.sort_value)
    position = tuple_(column, campaigns.c.campaign_id)
    bound = tuple_(literal(value, column.type), after_id)
    later = position < bound if ordering.descending else position > bound
    return or_(later, column.is_(None)) if nullable else later
