"""A few hot read statements run on asyncpg directly, over connections of their own.

SQLAlchemy's part of a short read (its pool checkout, execute and result objects, the greenlet
switch into the driver) cost more server CPU than the driver's own work (docs/performance.md,
"Where a Get's CPU goes"), so the hottest reads skip it: each statement is prepared once per
connection and kept. At most `connections` statements run at once; more callers wait for a
connection. A connection whose statement failed or was cancelled is closed (its state is
unknown) and replaced when next needed; one the database closed while idle is skipped.
Failures come out as asyncpg's own exceptions, which adapters/sql/failures.py translates like
SQLAlchemy's; a failure to connect is an outage (connect_failure).
"""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg
from opentelemetry import trace

from adapters.sql.engine import POSTGRES_CONNECT_TIMEOUT_S
from adapters.sql.failures import connect_failure

tracer = trace.get_tracer("campaign.sql.raw")

_Connection = tuple[asyncpg.Connection, dict[str, asyncpg.prepared_stmt.PreparedStatement]]


class RawStatements:
    def __init__(self, dsn: str, *, statement_timeout_ms: int, connections: int) -> None:
        """`dsn`: a libpq URL (postgresql://...); `statement_timeout_ms` as the engines' (0 =
        unbounded)."""
        self._dsn = dsn
        self._settings = {"plan_cache_mode": "force_custom_plan"}
        if statement_timeout_ms > 0:
            self._settings["statement_timeout"] = str(statement_timeout_ms)
        self._slots = asyncio.Semaphore(connections)
        # Tracing is started before any store is built (server/composition/application.py);
        # asking the API on every statement read os.environ each time while it is off.
        self._traced = not isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider)
        self._idle: list[_Connection] = []
        self._closed = False

    @property
    def all_busy(self) -> bool:
        """Whether a `fetch` now would wait for a connection."""
        return self._slots.locked()

    async def fetch(self, name: str, sql: str, *arguments: Any) -> list[asyncpg.Record]:
        """The rows of `sql` with `arguments`; `name` names its span when tracing is on."""
        async with self._slots:
            if not self._traced:
                return await self._fetch(sql, arguments)  # tracing off: not even a no-op span
            with tracer.start_as_current_span(
                name,
                kind=trace.SpanKind.CLIENT,
                attributes={"db.system": "postgresql", "db.statement": sql},
            ):
                return await self._fetch(sql, arguments)

    async def _fetch(self, sql: str, arguments: tuple[Any, ...]) -> list[asyncpg.Record]:
        connection, prepared = await self._take()
        try:
            statement = prepared.get(sql)
            if statement is None:
                statement = prepared[sql] = await connection.prepare(sql)
            records: list[asyncpg.Record] = await statement.fetch(*arguments)
        except BaseException:
            connection.terminate()  # its state is unknown: a broken one would not answer a close
            raise
        if self._closed:
            connection.terminate()
        else:
            self._idle.append((connection, prepared))
        return records

    async def _take(self) -> _Connection:
        while self._idle:
            connection, prepared = self._idle.pop()
            if not connection.is_closed():
                return connection, prepared
        try:
            connection = await asyncpg.connect(
                self._dsn,
                timeout=POSTGRES_CONNECT_TIMEOUT_S,
                server_settings=self._settings,
                statement_cache_size=0,  # the statements are prepared by _fetch, and kept
            )
        except Exception as exc:  # whatever stops a connect is an outage to callers
            raise connect_failure(exc) from exc
        return connection, {}

    async def close(self) -> None:
        self._closed = True
        idle, self._idle = self._idle, []
        for connection, _ in idle:
            await connection.close(timeout=POSTGRES_CONNECT_TIMEOUT_S)
