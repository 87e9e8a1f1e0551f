"""The CampaignReads port on SQL: GetCampaign's coalesced lookup and ListCampaigns' pages.

The first page without filters (every dashboard's load) runs on Postgres as one prepared
statement on connections of its own (adapters/sql/raw_statements.py), the page and its total in
one round trip (listing.page_statement): SQLAlchemy's unit of work, execute and result objects
were a quarter of a ListCampaigns' CPU (docs/performance.md). The same first page of the same
organization asked together shares its statement (shared_reads.py). Every other page, and every
page on SQLite, goes through a read-only unit of work as before; both answer the same (the
contract tests run every listing case through this port).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.sql.campaigns.listing import ORGANIZATION, TOTAL, first_page_statements, page_of
from adapters.sql.campaigns.lookup import GATHER_S, CoalescedCampaignLookup
from adapters.sql.campaigns.lookup_statements import raw_statements
from adapters.sql.campaigns.shared_reads import SharedReads
from adapters.sql.campaigns.spec_cache import SpecCache
from adapters.sql.engine import is_postgres
from adapters.sql.failures import domain_error_for
from domain.campaigns.campaign import Campaign
from domain.campaigns.listing import CampaignPage, CampaignQuery
from domain.campaigns.ports import UnitOfWorkFactory

# First pages at once on connections of their own; a page asked while all are busy goes through
# the unit of work's pool instead, so a slow page never holds up another organization's. More
# connections put more statements on the database at once: on 2 cores, 4 raised ListCampaigns'
# p99 at 50 in flight past 100 ms, 2 left requests/s on the table (docs/performance.md).
PAGE_CONNECTIONS = 3


class SqlCampaignReads:
    def __init__(self, reader: AsyncEngine, specs: SpecCache, uow: UnitOfWorkFactory) -> None:
        """`reader`: the store's engine for reads (autocommit on Postgres); `uow` for the pages
        the prepared statement does not serve."""
        self._reader = reader
        self._specs = specs
        self._uow = uow
        self.lookup = CoalescedCampaignLookup(reader, specs)
        # The same first page asked together shares its statement (shared_reads.py).
        self.shared: SharedReads[list[Any]] = SharedReads(GATHER_S)
        self.pages = (
            raw_statements(reader, connections=PAGE_CONNECTIONS) if is_postgres(reader) else None
        )
        # The SQL of each prebuilt page statement and its parameters in order (None: the
        # organization), compiled once.
        self._compiled: dict[int, tuple[Select[Any], str, tuple[Any, ...]]] = {}

    async def campaign(self, organization_id: str, campaign_id: str) -> Campaign | None:
        return await self.lookup.campaign(organization_id, campaign_id)

    async def page(self, organization_id: str, query: CampaignQuery) -> CampaignPage:
        prebuilt = first_page_statements(query) if self.pages is not None else None
        if prebuilt is None or self.pages is None or self.pages.all_busy:
            async with self._uow(read_only=True) as uow:
                return await uow.campaigns.list(organization_id, query)
        sql, parameters = self._sql_of(prebuilt.raw_page)  # documents as text: no codec here
        arguments = [organization_id if p is None else p for p in parameters]
        pages = self.pages

        async def fetch() -> list[Any]:
            try:
                return await pages.fetch("SELECT campaigns page", sql, *arguments)
            except Exception as exc:
                translated = domain_error_for(exc)
                if translated is None:
                    raise
                raise translated from exc

        rows = await self.shared.read((organization_id, sql, *arguments), fetch)
        # A first page without filters is empty only when the organization has no campaigns.
        return page_of(rows, query, rows[0][TOTAL] if rows else 0, self._specs)

    def _sql_of(self, statement: Select[Any]) -> tuple[str, tuple[Any, ...]]:
        found = self._compiled.get(id(statement))
        if found is None or found[0] is not statement:
            compiled = statement.compile(dialect=self._reader.dialect)
            parameters = tuple(
                None if name == ORGANIZATION else compiled.params[name]
                for name in compiled.positiontup or ()
            )
            found = self._compiled[id(statement)] = (statement, str(compiled), parameters)
        return found[1], found[2]

    async def close(self) -> None:
        await self.lookup.close()
        if self.pages is not None:
            await self.pages.close()
