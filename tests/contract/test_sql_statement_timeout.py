"""Every statement is bounded (issue #10 item 3): Postgres cancels it through statement_timeout,
SQLite interrupts it through a progress handler; the connection stays usable afterwards."""

from __future__ import annotations

from pathlib import Path

import asyncpg
import pytest
from sqlalchemy import exc, text

from adapters.sql.engine import make_engine, sqlite_url_for, statement_timeout_of
from adapters.sql.unit_of_work import SqlStore
from tests.support.services import postgres_database

# An endless recursive count: SQLite has no sleep, this keeps its VM busy instead.
ENDLESS = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c"


async def test_sqlite_interrupts_a_statement_over_the_timeout(tmp_path: Path) -> None:
    engine = make_engine(sqlite_url_for(tmp_path), statement_timeout_ms=200)
    try:
        async with engine.connect() as connection:
            with pytest.raises(exc.OperationalError, match="interrupted"):
                await connection.execute(text(ENDLESS))
            await connection.rollback()
            # The budget is per statement: the next one runs normally.
            assert (await connection.execute(text("SELECT 1"))).scalar() == 1
    finally:
        await engine.dispose()


async def test_sqlite_without_a_timeout_installs_no_handler(tmp_path: Path) -> None:
    engine = make_engine(sqlite_url_for(tmp_path), statement_timeout_ms=0)
    try:
        async with engine.connect() as connection:
            bounded = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c LIMIT 1000)"
            assert (await connection.execute(text(bounded + " SELECT count(*) FROM c"))).scalar()
    finally:
        await engine.dispose()


@pytest.mark.postgres
async def test_postgres_cancels_a_statement_over_the_timeout_on_both_engines() -> None:
    async with postgres_database() as url:
        store = SqlStore(make_engine(url, statement_timeout_ms=200))
        try:
            for engine in (store.engine, store._reader):
                assert statement_timeout_of(engine) == 200
                async with engine.connect() as connection:
                    with pytest.raises(exc.DBAPIError) as caught:
                        await connection.execute(text("SELECT pg_sleep(5)"))
                    assert isinstance(caught.value.orig.__cause__, asyncpg.QueryCanceledError)
                    await connection.rollback()
                    assert (await connection.execute(text("SELECT 1"))).scalar() == 1
        finally:
            await store.close()
