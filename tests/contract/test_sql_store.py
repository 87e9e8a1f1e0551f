"""What only the SQL adapter has: engines, time zones, health, and outages mapped to UNAVAILABLE."""

from __future__ import annotations

import socket
from datetime import datetime, timedelta, timezone
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy import text
from sqlalchemy.exc import StatementError

from adapters.sql.engine import is_postgres, make_engine, sqlite_url_for
from adapters.sql.unit_of_work import SqlStore
from domain.kernel.errors import DependencyUnavailableError
from tests.contract.builders import ORG, campaign
from tests.contract.conftest import Backend
from tests.contract.steps import load, store
from tests.support.services import POSTGRES_ADMIN_DSN


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _unreachable_store() -> SqlStore:
    return SqlStore(make_engine(f"postgresql+asyncpg://postgres@127.0.0.1:{_closed_port()}/none"))


async def _terminate_connections(database: str | None) -> None:
    admin = await asyncpg.connect(POSTGRES_ADMIN_DSN)
    try:
        await admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1", database
        )
    finally:
        await admin.close()


async def test_instants_come_back_as_aware_utc(sql_backend: Backend) -> None:
    india = datetime(2030, 5, 1, 20, 0, 15, 250, tzinfo=timezone(timedelta(hours=5, minutes=30)))
    await store(sql_backend.unit_of_work, campaign("c-1", created_at=india))

    loaded = await load(sql_backend.unit_of_work, ORG, "c-1")

    assert loaded is not None
    assert loaded.created_at == india
    assert loaded.created_at.utcoffset() == timedelta(0)


async def test_naive_instants_are_refused(sql_backend: Backend) -> None:
    naive = campaign("c-1", created_at=datetime(2030, 1, 1))  # naive on purpose

    async with sql_backend.unit_of_work() as uow:
        with pytest.raises(StatementError, match="naive datetime"):
            await uow.campaigns.add(naive)


async def test_sqlite_file_lives_in_the_data_dir_which_is_created(tmp_path: Path) -> None:
    data_dir = tmp_path / "nested" / "data"
    engine = make_engine(sqlite_url_for(data_dir))
    try:
        async with engine.connect() as connection:
            modes = [
                (await connection.exec_driver_sql(f"PRAGMA {name}")).scalar()
                for name in ("journal_mode", "foreign_keys", "busy_timeout")
            ]
    finally:
        await engine.dispose()

    assert (data_dir / "campaign.db").is_file()
    assert modes == ["wal", 1, 5000]
    assert not is_postgres(engine)


async def test_health_check_passes_when_the_database_answers(sql_backend: Backend) -> None:
    assert sql_backend.engine is not None
    healthy = SqlStore(sql_backend.engine)

    assert await healthy.check() is True


async def test_health_check_fails_when_the_database_is_unreachable() -> None:
    unreachable = _unreachable_store()
    try:
        assert await unreachable.check() is False
    finally:
        await unreachable.close()


async def test_unreachable_database_is_reported_unavailable() -> None:
    unreachable = _unreachable_store()
    try:
        with pytest.raises(DependencyUnavailableError):
            async with unreachable.unit_of_work() as uow:
                await uow.campaigns.get(ORG, "c-1")
    finally:
        await unreachable.close()


@pytest.mark.postgres
async def test_connection_lost_mid_transaction_is_reported_unavailable(
    postgres_backend: Backend,
) -> None:
    assert postgres_backend.engine is not None
    database = postgres_backend.engine.url.database

    async def read_across_a_lost_connection() -> None:
        async with postgres_backend.unit_of_work() as uow:
            await uow.campaigns.get(ORG, "c-1")
            await _terminate_connections(database)
            await uow.campaigns.get(ORG, "c-1")

    with pytest.raises(DependencyUnavailableError) as raised:
        await read_across_a_lost_connection()

    assert raised.value.__cause__ is not None


@pytest.mark.postgres
async def test_postgres_engine_is_recognised(postgres_backend: Backend) -> None:
    assert postgres_backend.engine is not None

    async with postgres_backend.engine.connect() as connection:
        collation = (
            await connection.execute(
                text(
                    "SELECT collation_name FROM information_schema.columns "
                    "WHERE table_name = 'campaigns' AND column_name = 'name'"
                )
            )
        ).scalar()

    assert is_postgres(postgres_backend.engine)
    assert collation == "C"
