"""The one statement of the coalesced campaign reads (lookup.py), on each database.

On Postgres it runs on asyncpg directly (adapters/sql/raw_statements.py): this statement is the
hottest of the service. The lookup runs at most IN_FLIGHT statements at once, so that many
connections are all it ever holds.

On SQLite (the embedded default) it runs through the engine, as every other statement there.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from sqlalchemy import bindparam, select
from sqlalchemy import exc as sa_exc
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.sql.campaigns.tables import campaigns
from adapters.sql.engine import (
    SQLITE_BEGIN_OPTION,
    is_postgres,
    statement_timeout_of,
)
from adapters.sql.failures import connect_failure
from adapters.sql.raw_statements import RawStatements

_POSTGRES = (
    "SELECT " + ", ".join(f'"{column.name}"' for column in campaigns.c) + " FROM campaigns"
    " WHERE organization_id = ANY($1::text[]) AND campaign_id = ANY($2::text[])"
)
_SQLITE = select(campaigns).where(
    campaigns.c.organization_id.in_(bindparam("organizations", expanding=True)),
    campaigns.c.campaign_id.in_(bindparam("ids", expanding=True)),
)


class CampaignRows(Protocol):
    async def rows(
        self, organizations: Sequence[str], ids: Sequence[str]
    ) -> Sequence[Mapping[Any, Any]]:
        """Campaign rows whose organization is one of `organizations` and id one of `ids`."""

    async def close(self) -> None: ...


def raw_statements(engine: AsyncEngine, *, connections: int) -> RawStatements:
    """Connections of their own to `engine`'s Postgres database, with its statement timeout."""
    return RawStatements(
        engine.url.set(drivername="postgresql").render_as_string(hide_password=False),
        statement_timeout_ms=statement_timeout_of(engine),
        connections=connections,
    )


def campaign_rows(engine: AsyncEngine, *, connections: int) -> CampaignRows:
    """The statement for `engine`'s database; `connections`: how many run at once at most."""
    if is_postgres(engine):
        return AsyncpgCampaignRows(raw_statements(engine, connections=connections))
    return EngineCampaignRows(engine)


class EngineCampaignRows:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def rows(
        self, organizations: Sequence[str], ids: Sequence[str]
    ) -> Sequence[Mapping[Any, Any]]:
        try:
            connection = await self._engine.connect()
        except (sa_exc.SQLAlchemyError, OSError, TimeoutError) as exc:
            raise connect_failure(exc) from exc
        try:
            # a deferred BEGIN: a SQLite reader must not take the write lock
            await connection.execution_options(**{SQLITE_BEGIN_OPTION: "BEGIN"})
            result = await connection.execute(
                _SQLITE, {"organizations": list(organizations), "ids": list(ids)}
            )
            return result.mappings().all()
        finally:
            await connection.close()

    async def close(self) -> None:
        """The engine is the store's to dispose of."""


class AsyncpgCampaignRows:
    def __init__(self, statements: RawStatements) -> None:
        self._statements = statements

    async def rows(
        self, organizations: Sequence[str], ids: Sequence[str]
    ) -> Sequence[Mapping[Any, Any]]:
        # JSON documents as text: see rows.campaign_from_row
        return await self._statements.fetch(
            "SELECT campaigns", _POSTGRES, list(organizations), list(ids)
        )

    async def close(self) -> None:
        await self._statements.close()
