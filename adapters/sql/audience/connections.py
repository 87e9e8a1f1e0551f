"""One short transaction per call, for the audience stores and the audience source.

The audience ports promise "each call is its own transaction" rather than joining a unit of
work: contact imports, suppression edits and recipient batches are independent of campaign
writes, and a recipient stream must never hold a connection while its consumer sends a batch.
A database outage surfaces as DependencyUnavailableError, as everywhere else.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterable, Iterator, Sequence
from contextlib import asynccontextmanager
from itertools import islice
from typing import TypeVar

from sqlalchemy import exc as sa_exc
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from adapters.sql.engine import SQLITE_BEGIN_OPTION, is_postgres
from adapters.sql.failures import connect_failure, database_errors_as_domain_errors

T = TypeVar("T")

# Values per IN list / rows per statement: far below SQLite's 32,766 bound parameters even with
# a dozen columns a row, and large enough that a 10,000-recipient batch is a few statements.
CHUNK = 1_000


@asynccontextmanager
async def writing(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """A write transaction, committed when the block exits normally (BEGIN IMMEDIATE on SQLite)."""
    async with _connected(engine) as connection:
        with database_errors_as_domain_errors():
            async with connection.begin():
                yield connection


@asynccontextmanager
async def reading(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """A read: a deferred BEGIN on SQLite, so it never queues behind (or blocks) a writer."""
    async with _connected(engine) as connection:
        with database_errors_as_domain_errors():
            if not is_postgres(connection):
                await connection.execution_options(**{SQLITE_BEGIN_OPTION: "BEGIN"})
            yield connection


@asynccontextmanager
async def _connected(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    try:
        connection = await engine.connect()
    except (sa_exc.SQLAlchemyError, OSError, TimeoutError) as exc:
        raise connect_failure(exc) from exc
    try:
        yield connection
    except BaseException:
        with contextlib.suppress(Exception):  # probably broken; the block's error says why
            await connection.close()
        raise
    with database_errors_as_domain_errors():
        await connection.close()  # rolls back whatever was not committed


def chunked(items: Iterable[T], size: int = CHUNK) -> Iterator[Sequence[T]]:
    iterator = iter(items)
    while chunk := tuple(islice(iterator, size)):
        yield chunk
