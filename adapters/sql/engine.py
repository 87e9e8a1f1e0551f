"""Async engines for the two supported databases: Postgres (production), a SQLite file (embedded).

SQLite needs the most care: Python's sqlite3 driver does its own half-hearted transaction control,
which breaks SAVEPOINTs and lets a read-then-write transaction fail with "database is locked" when
another writer got in between. We take BEGIN over ourselves and start every transaction with
BEGIN IMMEDIATE, so writers queue behind each other (up to the busy timeout) instead of failing,
and the optimistic version check stays the only source of conflicts, exactly as on Postgres.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool, StaticPool

from domain.audience.model import address_key

SQLITE_FILE = "campaign.db"
SQLITE_BUSY_TIMEOUT_MS = 5_000
SQLITE_FILE_MODE = 0o600
SQLITE_SIDE_FILES = ("-wal", "-shm", "-journal")
FOLD_ADDRESS = "fold_address"  # a SQL function on SQLite connections:
# domain.audience.model.address_key
POSTGRES_CONNECT_TIMEOUT_S = 10  # asyncpg waits 60 s by default: far too long to say UNAVAILABLE

# Execution option naming the statement that opens a SQLite transaction (see `_begin`).
SQLITE_BEGIN_OPTION = "sqlite_begin"


def make_engine(
    url: str, *, pool_size: int = 10, max_overflow: int = 10, autocommit: bool = False
) -> AsyncEngine:
    """An engine for `postgresql+asyncpg://...` or `sqlite+aiosqlite:///path`.

    `autocommit` (Postgres only) gives an engine for single-statement reads: no BEGIN/ROLLBACK
    round trips, and its own pool, since switching a pooled connection's isolation level on
    every checkout costs nearly as much as the transaction it saves.
    """
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engine(url, parsed.database)
    extra: dict[str, Any] = {"isolation_level": "AUTOCOMMIT"} if autocommit else {}
    return create_async_engine(
        url,
        **extra,
        pool_size=pool_size,
        max_overflow=max_overflow,
        # No pre-ping: it costs a round trip on every checkout. A connection that died meanwhile
        # fails its statement, is invalidated by SQLAlchemy and the call answers UNAVAILABLE;
        # the health probe reports the outage; recycling retires connections idle reapers kill.
        pool_recycle=1800,
        connect_args={"timeout": POSTGRES_CONNECT_TIMEOUT_S},
    )


def sqlite_url_for(data_dir: Path) -> str:
    return f"sqlite+aiosqlite:///{(data_dir / SQLITE_FILE).absolute()}"


def is_postgres(engine: AsyncEngine | AsyncConnection | Engine | Connection) -> bool:
    return engine.dialect.name == "postgresql"


def _sqlite_engine(url: str, database: str | None) -> AsyncEngine:
    in_memory = not database or database == ":memory:"
    if not in_memory:
        owner_only_database(Path(database or ""))
    # A file database needs no pool: opening it is cheap and a fresh connection never carries a
    # stale transaction. An in-memory database exists only inside its one connection.
    engine = create_async_engine(url, poolclass=StaticPool if in_memory else NullPool)
    event.listen(engine.sync_engine, "connect", _configure_sqlite_connection)
    event.listen(engine.sync_engine, "begin", _begin)
    return engine


def owner_only_database(path: Path) -> None:
    """Create the database file readable by its owner only (0600), and tighten one an older
    version left world-readable, with its -wal and -shm files (SQLite gives those the database
    file's mode when it creates them). It holds contacts: personal data."""
    path.parent.mkdir(parents=True, exist_ok=True)
    os.close(os.open(path, os.O_CREAT | os.O_WRONLY, SQLITE_FILE_MODE))
    for file in (path, *(path.with_name(path.name + suffix) for suffix in SQLITE_SIDE_FILES)):
        with contextlib.suppress(FileNotFoundError):
            file.chmod(SQLITE_FILE_MODE)


def _configure_sqlite_connection(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.isolation_level = None  # we emit BEGIN ourselves (`_begin`)
    # Python's str.lower, so a case-insensitive name prefix matches exactly what the in-memory
    # adapter matches (SQLite's own lower() folds ASCII only).
    dbapi_connection.create_function("lower", 1, _python_lower, deterministic=True)
    # domain.audience.model.address_key, for comparing contacts' emails with suppressed addresses.
    dbapi_connection.create_function(FOLD_ADDRESS, 1, _fold_address, deterministic=True)
    cursor = dbapi_connection.cursor()
    for pragma in (
        "PRAGMA journal_mode=WAL",  # readers never block the writer
        "PRAGMA synchronous=NORMAL",  # durable enough with WAL, much faster than FULL
        "PRAGMA foreign_keys=ON",  # off by default in SQLite; the facet tables cascade
        f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}",
    ):
        cursor.execute(pragma)
    cursor.close()


def _begin(conn: Connection) -> None:
    conn.exec_driver_sql(conn.get_execution_options().get(SQLITE_BEGIN_OPTION, "BEGIN IMMEDIATE"))


def _python_lower(value: object) -> object:
    return value.lower() if isinstance(value, str) else value


def _fold_address(value: object) -> object:
    return address_key(value) if isinstance(value, str) else value
