"""Every adapter of the persistence ports behind one fixture, so each contract test runs on all.

The in-memory adapter is the reference semantics; SQLite and Postgres run on freshly migrated
databases, so the suite also proves the migrations produce a schema the adapter works with.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.memory.campaigns import MemoryStore
from adapters.sql.engine import make_engine, sqlite_url_for
from adapters.sql.unit_of_work import SqlStore
from domain.campaigns.ports import CampaignReads, NewCampaigns, UnitOfWorkFactory
from domain.campaigns.service import ReadOnlyReads
from domain.campaigns.store import UnitOfWorkNewCampaigns
from domain.kernel.ports import OutboxStore
from tests.support.migrated import migrated_postgres_database, migrated_sqlite_file
from tests.support.services import postgres_database

ALL = ["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
SQL = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


@dataclass(frozen=True)
class Backend:
    name: str
    unit_of_work: UnitOfWorkFactory
    outbox: OutboxStore
    engine: AsyncEngine | None = None  # None for the in-memory adapter
    lookup: CampaignReads | None = None  # GetCampaign's reads (the store's own on SQL)
    new_campaigns: NewCampaigns | None = None  # CreateCampaign's writes (the store's own on SQL)


@asynccontextmanager
async def sql_engine(
    kind: str, data_dir: Path, *, migrated: bool = False
) -> AsyncIterator[AsyncEngine]:
    """A database of the given kind, empty or already `migrated` (a copy of the migrated
    template: tests.support.migrated), disposed afterwards."""
    if kind == "sqlite":
        url = sqlite_url_for(data_dir)
        if migrated:
            url = await migrated_sqlite_file(data_dir / "migrated.db")
        engine = make_engine(url)
        try:
            yield engine
        finally:
            await engine.dispose()
        return
    database = migrated_postgres_database() if migrated else postgres_database()
    async with database as url:
        engine = make_engine(url)
        try:
            yield engine
        finally:
            await engine.dispose()


@asynccontextmanager
async def open_backend(kind: str, data_dir: Path) -> AsyncIterator[Backend]:
    if kind == "memory":
        memory = MemoryStore()
        yield Backend(
            "memory",
            memory.unit_of_work,
            memory,
            lookup=ReadOnlyReads(memory.unit_of_work),
            new_campaigns=UnitOfWorkNewCampaigns(memory.unit_of_work),
        )
        return
    async with sql_engine(kind, data_dir, migrated=True) as engine:
        store = SqlStore(engine)
        try:
            yield Backend(
                kind,
                store.unit_of_work,
                store.outbox_store(),
                engine,
                store.campaign_reads(),
                store.new_campaigns(),
            )
        finally:
            await store.close()  # its own connections (lookup, pages, inserts) too


@pytest.fixture(params=ALL)
async def backend(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Backend]:
    async with open_backend(request.param, tmp_path) as opened:
        yield opened


@pytest.fixture(params=SQL)
async def sql_backend(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Backend]:
    async with open_backend(request.param, tmp_path) as opened:
        yield opened


@pytest.fixture
async def postgres_backend(tmp_path: Path) -> AsyncIterator[Backend]:
    """For behaviour only Postgres has (row locks that concurrent claims skip)."""
    async with open_backend("postgres", tmp_path) as opened:
        yield opened


@pytest.fixture(params=SQL)
async def empty_engine(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[AsyncEngine]:
    """A database nothing has migrated yet."""
    async with sql_engine(request.param, tmp_path) as engine:
        yield engine


# --- audiences: the directory, segment, suppression and audience-source ports ----------------

from tests.contract.audience_conftest import AudienceBackend, open_audience_backend  # noqa: E402


@pytest.fixture(params=ALL)
async def audience(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[AudienceBackend]:
    async with open_audience_backend(request.param, tmp_path) as opened:
        yield opened


@pytest.fixture(params=SQL)
async def sql_audience(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[AudienceBackend]:
    async with open_audience_backend(request.param, tmp_path) as opened:
        yield opened
