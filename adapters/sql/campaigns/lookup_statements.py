"""The one statement of the coalesced campaign reads (lookup.py), on each database.

On Postgres it runs on asyncpg directly, over connections of its own, prepared once per
connection: SQLAlchemy's part of a by-id read (its pool checkout, execute and result objects,
the greenlet switch into the driver) cost more server CPU than the driver's, and this statement
is the hottest of the service (docs/performance.md, "Where a Get's CPU goes"). The lookup runs
at most IN_FLIGHT statements at once, so that many connections are all it ever holds. Failures
come out as asyncpg's exceptions, which adapters/sql/failures.py translates like SQLAlchemy's.

On SQLite (the embedded default) it runs through the engine, as every other statement there.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

import asyncpg
from opentelemetry import trace
from sqlalchemy import bindparam, select
from sqlalchemy import exc as sa_exc
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.sql.campaigns.tables import campaigns
from adapters.sql.engine import (
    POSTGRES_CONNECT_TIMEOUT_S,
    SQLITE_BEGIN_OPTION,
    is_postgres,
    statement_timeout_of,
)
from adapters.sql.failures import connect_failure

_POSTGRES = (
    "SELECT " + ", ".join(f'"{column.name}"' for column in campaigns.c) + " FROM campaigns"
    " WHERE organization_id = ANY($1::text[]) AND campaign_id = ANY($2::text[])"
)
_SQLITE = select(campaigns).where(
    campaigns.c.organization_id.in_(bindparam("organizations", expanding=True)),
    campaigns.c.campaign_id.in_(bindparam("ids", expanding=True)),
)
tracer = trace.get_tracer("campaign.sql.lookup")


class CampaignRows(Protocol):
    async def rows(
        self, organizations: Sequence[str], ids: Sequence[str]
    ) -> Sequence[Mapping[Any, Any]]:
        """Campaign rows whose organization is one of `organizations` and id one of `ids`."""

    async def close(self) -> None: ...


def campaign_rows(engine: AsyncEngine, *, connections: int) -> CampaignRows:
    """The statement for `engine`'s database; `connections`: how many run at once at most."""
    if is_postgres(engine):
        return AsyncpgCampaignRows(
            engine.url.set(drivername="postgresql").render_as_string(hide_password=False),
            statement_timeout_ms=statement_timeout_of(engine),
            connections=connections,
        )
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
    """Idle connections wait in `_idle`; one that failed is closed and replaced on next use."""

    def __init__(self, dsn: str, *, statement_timeout_ms: int, connections: int) -> None:
        self._dsn = dsn
        self._settings = (
            {"statement_timeout": str(statement_timeout_ms)} if statement_timeout_ms > 0 else {}
        )
        self._limit = connections
        self._idle: list[tuple[asyncpg.Connection, asyncpg.prepared_stmt.PreparedStatement]] = []
        self._open = 0
        self._closed = False

    async def rows(
        self, organizations: Sequence[str], ids: Sequence[str]
    ) -> Sequence[Mapping[Any, Any]]:
        with tracer.start_as_current_span(
            "SELECT campaigns",
            kind=trace.SpanKind.CLIENT,
            attributes={"db.system": "postgresql", "db.statement": _POSTGRES},
        ):
            connection, statement = await self._take()
            try:
                records = await statement.fetch(list(organizations), list(ids))
            except BaseException:
                _discard(connection)
                self._open -= 1
                raise
            self._give_back(connection, statement)
        return records  # JSON documents as text: see rows.campaign_from_row

    async def _take(self) -> tuple[asyncpg.Connection, asyncpg.prepared_stmt.PreparedStatement]:
        while self._idle:
            connection, statement = self._idle.pop()
            if not connection.is_closed():
                return connection, statement
            self._open -= 1  # the database closed it while it was idle
        if self._open >= self._limit:  # the caller runs more statements at once than it said
            raise RuntimeError(f"more than {self._limit} campaign reads at once")
        self._open += 1
        try:
            connection = await asyncpg.connect(
                self._dsn,
                timeout=POSTGRES_CONNECT_TIMEOUT_S,
                server_settings=self._settings,
                statement_cache_size=0,  # the one statement is prepared below, and kept
            )
        except Exception as exc:  # whatever stops a connect is an outage to callers
            self._open -= 1
            raise connect_failure(exc) from exc
        except BaseException:
            self._open -= 1
            raise
        try:
            return connection, await connection.prepare(_POSTGRES)
        except BaseException:
            _discard(connection)
            self._open -= 1
            raise

    def _give_back(
        self, connection: asyncpg.Connection, statement: asyncpg.prepared_stmt.PreparedStatement
    ) -> None:
        if self._closed:
            connection.terminate()
            self._open -= 1
        else:
            self._idle.append((connection, statement))

    async def close(self) -> None:
        self._closed = True
        idle, self._idle = self._idle, []
        for connection, _ in idle:
            await connection.close(timeout=POSTGRES_CONNECT_TIMEOUT_S)
            self._open -= 1


def _discard(connection: asyncpg.Connection) -> None:
    """Close a connection whose state is unknown (a failed or cancelled statement) without
    waiting on it: a broken one would not answer a polite close."""
    connection.terminate()
