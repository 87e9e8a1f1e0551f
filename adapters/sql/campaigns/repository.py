"""CampaignRepository on SQLAlchemy: every statement scoped by organization, versions checked in SQL

Optimistic concurrency is one conditional UPDATE (`... AND version = expected`), so two replicas
racing on the same campaign cannot both win, and no row lock is held while the use case thinks.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Select, bindparam, delete, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from adapters.sql.campaigns.listing import (
    ORGANIZATION,
    TOTAL,
    count_statement,
    first_page_statements,
    page_of,
    page_statement,
)
from adapters.sql.campaigns.rows import campaign_from_row, campaign_row, channel_rows, tag_rows
from adapters.sql.campaigns.spec_cache import SpecCache
from adapters.sql.campaigns.tables import campaign_channels, campaign_tags, campaigns
from adapters.sql.engine import is_postgres
from domain.campaigns.campaign import WINNER_PENDING_STATUSES, Campaign
from domain.campaigns.listing import CampaignPage, CampaignQuery
from domain.campaigns.model import CampaignStatus
from domain.kernel.errors import DuplicateRequestError, StaleEtagError

# Built once: constructing and cache-keying a statement per call cost more CPU than running it.
_BY_ID = select(campaigns).where(
    campaigns.c.organization_id == bindparam("organization_id"),
    campaigns.c.campaign_id == bindparam("key"),
)
_BY_REQUEST_ID = select(campaigns).where(
    campaigns.c.organization_id == bindparam("organization_id"),
    campaigns.c.request_id == bindparam("key"),
)
# Parameters, not `.values(row)`: a statement built from a row's values is constructed, keyed
# and looked up in the compiled cache on every Create.
_INSERT = insert(campaigns)
_FACET_INSERTS = {facet: insert(facet) for facet in (campaign_tags, campaign_channels)}


class SqlCampaignRepository:
    def __init__(self, session: AsyncConnection, specs: SpecCache | None = None) -> None:
        """`specs`: decoded definitions to reuse, for a read-only session only (spec_cache.py)."""
        self._session = session
        self._specs = specs

    async def get(self, organization_id: str, campaign_id: str) -> Campaign | None:
        return await self._one(_BY_ID, organization_id, campaign_id)

    async def get_by_request_id(self, organization_id: str, request_id: str) -> Campaign | None:
        return await self._one(_BY_REQUEST_ID, organization_id, request_id)

    async def names_starting_with(self, organization_id: str, prefix: str) -> set[str]:
        """LIKE 'prefix%' (wildcards escaped); SQLite's LIKE ignores ASCII case, so it may
        return more names than asked, which the port allows."""
        rows = await self._session.execute(
            select(campaigns.c.name).where(
                campaigns.c.organization_id == organization_id,
                campaigns.c.name.startswith(prefix, autoescape=True),
            )
        )
        return {name for (name,) in rows}

    async def add(self, campaign: Campaign) -> None:
        """Insert; DuplicateRequestError when a concurrent create took the request_id first.

        With a request_id the insert runs in a SAVEPOINT: on Postgres a failed statement poisons
        the whole transaction, and the caller must still be able to read the winner's row to
        replay it. Without one no insert can collide (the id is new), so the two round trips of
        the savepoint are left out.
        """
        if campaign.request_id is None:
            await self._insert(campaign)
            return
        try:
            async with self._session.begin_nested():
                await self._insert(campaign)
        except IntegrityError as exc:
            if "request_id" not in str(exc.orig):
                raise
            raise DuplicateRequestError(
                "request_id already used", metadata={"request_id": campaign.request_id or ""}
            ) from exc

    async def save(self, campaign: Campaign, *, expected_version: int) -> None:
        """Write back the campaign (its version already bumped by the use case) if still current."""
        values = campaign_row(campaign)
        for key in ("campaign_id", "organization_id", "created_at", "created_by"):
            values.pop(key)
        updated = await self._session.execute(
            update(campaigns)
            .where(
                campaigns.c.campaign_id == campaign.campaign_id,
                campaigns.c.organization_id == campaign.organization_id,
                campaigns.c.version == expected_version,
            )
            .values(values)
            .returning(campaigns.c.version)
        )
        if updated.first() is None:
            raise StaleEtagError(
                "the campaign changed concurrently",
                metadata={"campaign_id": campaign.campaign_id},
            )
        for facet in (campaign_tags, campaign_channels):
            await self._session.execute(
                delete(facet).where(facet.c.campaign_id == campaign.campaign_id)
            )
        await self._write_facets(campaign)

    async def delete(self, organization_id: str, campaign_id: str) -> bool:
        # The facet rows go with it (ON DELETE CASCADE).
        deleted = await self._session.execute(
            delete(campaigns)
            .where(
                campaigns.c.organization_id == organization_id,
                campaigns.c.campaign_id == campaign_id,
            )
            .returning(campaigns.c.campaign_id)
        )
        return deleted.first() is not None

    async def list(self, organization_id: str, query: CampaignQuery) -> CampaignPage:
        prebuilt = first_page_statements(query)
        if prebuilt is None:
            counting, paging = (
                count_statement(organization_id, query),
                page_statement(organization_id, query),
            )
            params = {}
        else:
            counting, paging, params = (
                prebuilt.counting,
                prebuilt.page,
                {ORGANIZATION: organization_id},
            )
        rows = (await self._session.execute(paging, params)).mappings().all()
        if rows:
            total = rows[0][TOTAL]
        else:  # past the end (or nothing matches): the rows carried no total
            total = (await self._session.execute(counting, params)).scalar_one()
        return page_of(rows, query, total, self._specs)

    async def due(self, now: datetime, limit: int) -> Sequence[Campaign]:
        statement = (
            select(campaigns)
            .where(
                campaigns.c.status == CampaignStatus.SCHEDULED.value,
                campaigns.c.next_run_at <= now,
            )
            .order_by(campaigns.c.next_run_at, campaigns.c.campaign_id)
            .limit(limit)
        )
        if is_postgres(self._session):
            statement = statement.with_for_update(skip_locked=True)
        rows = (await self._session.execute(statement)).mappings()
        return [campaign_from_row(row) for row in rows]

    async def winner_pending(self, after_campaign_id: str, limit: int) -> Sequence[Campaign]:
        statement = (
            select(campaigns)
            .where(
                campaigns.c.campaign_id > after_campaign_id,
                campaigns.c.winner_variant_id.is_(None),
                campaigns.c.status.in_(sorted(s.value for s in WINNER_PENDING_STATUSES)),
            )
            .order_by(campaigns.c.campaign_id)
            .limit(limit)
        )
        rows = (await self._session.execute(statement)).mappings()
        return [campaign_from_row(row) for row in rows]

    async def _one(self, statement: Select[Any], organization_id: str, key: str) -> Campaign | None:
        result = await self._session.execute(
            statement, {"organization_id": organization_id, "key": key}
        )
        row = result.mappings().first()
        return None if row is None else campaign_from_row(row, self._specs)

    async def _insert(self, campaign: Campaign) -> None:
        await self._session.execute(_INSERT, campaign_row(campaign))
        await self._write_facets(campaign)

    async def _write_facets(self, campaign: Campaign) -> None:
        for facet, rows in (
            (campaign_tags, tag_rows(campaign)),
            (campaign_channels, channel_rows(campaign)),
        ):
            if rows:
                await self._session.execute(_FACET_INSERTS[facet], rows)
