"""Database failures are classified by what a retry would do (adapters/sql/failures.py), on real
SQLite and Postgres: only an outage is UNAVAILABLE; a request too big for one query is
INVALID_ARGUMENT, a statement past its timeout RESOURCE_EXHAUSTED, and anything else a bug."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.sql.engine import make_engine
from adapters.sql.failures import database_errors_as_domain_errors
from adapters.sql.unit_of_work import SqlStore
from domain.kernel.errors import (
    DependencyUnavailableError,
    DomainError,
    QueryBudgetExceededError,
    RequestTooComplexError,
    UnstorableValueError,
)
from tests.contract.conftest import SQL, sql_engine
from tests.support.services import free_port, postgres_database


@pytest.fixture(params=SQL)
async def engine(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    async with sql_engine(request.param, tmp_path) as opened:
        yield opened


async def failure_of(engine: AsyncEngine, *statements: str, **params: object) -> BaseException:
    """What running `statements` in one unit of work raises, as a use case would see it."""
    store = SqlStore(engine)
    try:
        async with store.unit_of_work() as uow:
            for statement in statements:
                await uow._active().execute(text(statement), params)
    except BaseException as exc:
        return exc
    finally:
        await store.close()
    raise AssertionError(f"{statements[-1][:80]!r} did not fail")


@pytest.fixture
async def postgres() -> AsyncIterator[AsyncEngine]:
    async with postgres_database() as url:
        engine = make_engine(url)
        try:
            yield engine
        finally:
            await engine.dispose()


@pytest.mark.postgres
async def test_too_many_bind_arguments_is_invalid_argument_not_unavailable(postgres: AsyncEngine):
    count = 33_000  # past asyncpg's 32,767 (SQLite allows 250,000)
    values = {f"v{i}": i for i in range(count)}
    placeholders = ", ".join(f":v{i}" for i in range(count))
    error = await failure_of(postgres, f"SELECT 1 WHERE 1 IN ({placeholders})", **values)
    assert isinstance(error, RequestTooComplexError), type(error)
    assert error.reason == "REQUEST_TOO_COMPLEX"
    assert error.__cause__ is not None  # the driver's exception stays attached for the log


async def test_an_expression_too_complex_is_invalid_argument_not_unavailable(engine: AsyncEngine):
    # SQLite: "Expression tree is too large"; Postgres: "stack depth limit exceeded" (54001)
    error = await failure_of(engine, "SELECT 1" + " + 1" * 20_000)
    assert isinstance(error, RequestTooComplexError), type(error)


async def test_an_unknown_database_failure_is_a_bug_and_propagates_unchanged(engine: AsyncEngine):
    error = await failure_of(engine, "SELECT * FROM no_such_table")
    assert not isinstance(error, DomainError), repr(error)


@pytest.mark.postgres
async def test_a_statement_timeout_is_resource_exhausted_query_budget_exceeded(
    postgres: AsyncEngine,
):
    error = await failure_of(postgres, "SET LOCAL statement_timeout = '50ms'", "SELECT pg_sleep(2)")
    assert isinstance(error, QueryBudgetExceededError), repr(error)
    assert error.reason == "QUERY_BUDGET_EXCEEDED"


@pytest.mark.postgres
async def test_a_nul_character_that_reaches_postgres_is_invalid_argument_not_internal(
    postgres: AsyncEngine,
):
    error = await failure_of(postgres, "SELECT CAST(:v AS text)", v="a\x00b")
    assert isinstance(error, UnstorableValueError), repr(error)


async def test_an_unreachable_postgres_is_unavailable():
    engine = make_engine(f"postgresql+asyncpg://postgres@127.0.0.1:{free_port()}/none")
    try:
        with pytest.raises(DependencyUnavailableError):
            async with SqlStore(engine).unit_of_work():
                pass
        with pytest.raises(DependencyUnavailableError), database_errors_as_domain_errors():
            async with engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
    finally:
        await engine.dispose()
