"""Real Postgres and NATS for the wiring tests: a fresh database, a fresh stream per test."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from adapters.sql.engine import make_engine
from adapters.sql.unit_of_work import SqlStore
from tests.integration.nats_support import (
    PrivateNatsServer,
    StreamNames,
    delete_stream,
    shared_nats_url,
)
from tests.support.migrated import migrated_postgres_database


@pytest.fixture
async def database_url() -> AsyncIterator[str]:
    """A freshly migrated Postgres database of its own, dropped afterwards."""
    async with migrated_postgres_database() as url:
        yield url


@pytest.fixture
async def sql_store(database_url: str) -> AsyncIterator[SqlStore]:
    store = SqlStore(make_engine(database_url))
    try:
        yield store
    finally:
        await store.close()


@pytest.fixture
async def shared_stream() -> AsyncIterator[tuple[str, StreamNames]]:
    """The shared server's URL and a stream for this test alone, deleted afterwards."""
    url, names = shared_nats_url(), StreamNames.fresh()
    try:
        yield url, names
    finally:
        await delete_stream(url, names.stream)


@pytest.fixture
async def private_nats(tmp_path: Path) -> AsyncIterator[PrivateNatsServer]:
    """A nats-server of this test's own, running; killed afterwards whatever happened."""
    server = PrivateNatsServer(tmp_path)
    try:
        await server.start()
        yield server
    finally:
        server.kill_now()
