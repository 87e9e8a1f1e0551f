"""The list RPC in SQL: filters, ordering and keyset pages with the in-memory adapter's semantics.

Every filter runs in the database so a page costs one indexed query however many campaigns an
organization has; the contract suite checks that both adapters return the same rows in the same
order for the same query.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    Text,
    and_,
    bindparam,
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

from adapters.sql.campaigns.rows import UNDECODED_COLUMNS
from adapters.sql.campaigns.tables import campaign_channels, campaign_tags, campaigns
from domain.campaigns.campaign import Campaign
from domain.campaigns.listing import (
    MAX_PAGE_SIZE,
    NO_SORT_VALUE,
    CampaignFilter,
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
# The first page without filters, the dashboard's every load: its two statements built once per
# (sort key, direction, page size) with the organization as a parameter. Building and cache-keying
# them per call was about a tenth of a ListCampaigns' CPU (docs/performance.md).
_FIRST_PAGES: dict[tuple[str, bool, int], tuple[Select[int], Select[Any]]] = {}
ORGANIZATION = "organization_id"  # the parameter of the statements first_page_statements returns


def first_page_statements(query: CampaignQuery) -> tuple[Select[int], Select[Any]] | None:
    """The count and page statements of `query`, with the organization as the parameter
    ORGANIZATION, when it is a first page without filters; None for any other query."""
    if query.after is not None or query.filter != _NO_FILTER or query.page_size > MAX_PAGE_SIZE:
        return None  # (page sizes above the RPC's clamp are not kept: the dict stays bounded)
    key = (query.ordering.key, query.ordering.descending, query.page_size)
    statements = _FIRST_PAGES.get(key)
    if statements is None:
        organization: Any = bindparam(ORGANIZATION, type_=Text())
        statements = _FIRST_PAGES[key] = (
            count_statement(organization, query),
            page_statement(organization, query),
        )
    return statements


def count_statement(organization_id: str, query: CampaignQuery) -> Select[int]:
    clauses = filter_clauses(organization_id, query.filter)
    return select(func.count()).select_from(campaigns).where(*clauses)


def page_statement(organization_id: str, query: CampaignQuery) -> Select[Any]:
    """One row more than the page, so the caller knows whether another page follows."""
    clauses = filter_clauses(organization_id, query.filter)
    if query.after is not None:
        clauses.append(_after(query.ordering, query.after))
    column = _SORT_COLUMNS[query.ordering.key]
    desc = query.ordering.descending
    by_value = column.desc() if desc else column.asc()
    if column.nullable:  # only there: NULLS LAST on a NOT NULL column could cost its index
        by_value = by_value.nulls_last()
    return (
        select(*UNDECODED_COLUMNS)
        .where(*clauses)
        .order_by(
            by_value, campaigns.c.campaign_id.desc() if desc else campaigns.c.campaign_id.asc()
        )
        .limit(max(query.page_size, 0) + 1)
    )


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
