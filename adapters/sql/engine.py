"""Async engines for the two supported databases: Postgres (production), a SQLite file (embedded).

SQLite needs the most care: Python's sqlite3 driver does its own half-hearted transaction control,
which breaks SAVEPOINTs and lets a read-then-write transaction fail with "database is locked" when
another writer got in between. We take BEGIN over ourselves and start every transaction with
BEGIN IMMEDIATE, so writers queue behind each other (up to the busy timeout) instead of failing,
and the optimistic version check stays the only source of conflicts, exactly as on Postgres.
"""

from __future__ import annotations

import contextlib
import math
import os
import time
from pathlib import Path
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool, StaticPool
from sqlalchemy.util import await_

from adapters.sql.documents import decode_document
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
# The longest one statement may run, in milliseconds (0 = unbounded): a query no index serves
# must not hold a database backend, or a SQLite connection, for minutes. Postgres cancels it with
# SQLSTATE 57014 (asyncpg QueryCanceledError, raised by SQLAlchemy as DBAPIError); SQLite
# interrupts it through a progress handler (sqlite3.OperationalError "interrupted", raised as
# sqlalchemy.exc.OperationalError). Settings: CAMPAIGN_STATEMENT_TIMEOUT_MS.
# For the rest of the transaction, plan each statement for its own parameters and the table as it
# is now. A prepared statement's generic plan is kept until the table's statistics change; where
# nothing analyzes the tables (autovacuum off), a plan made when a table was nearly empty stays,
# and for a hot statement of the intake or the relay that was a scan of everything the table
# gathered since (docs/performance.md, "Plans made on an empty table"). Postgres only.
CUSTOM_PLANS = text("SELECT set_config('plan_cache_mode', 'force_custom_plan', true)")
DEFAULT_STATEMENT_TIMEOUT_MS = 30_000
STATEMENT_TIMEOUT_OPTION = "campaign_statement_timeout_ms"  # carried by the engine, see below
SQLITE_PROGRESS_STEPS = 50_000  # SQLite VM instructions between two deadline checks
_BUDGET = "campaign_statement_budget"  # key of a SQLite connection's budget in its record info


def make_engine(
    url: str,
    *,
    pool_size: int = 20,
    max_overflow: int = 0,
    autocommit: bool = False,
    statement_timeout_ms: int = DEFAULT_STATEMENT_TIMEOUT_MS,
) -> AsyncEngine:
    """An engine for `postgresql+asyncpg://...` or `sqlite+aiosqlite:///path`.

    `autocommit` (Postgres only) gives an engine for single-statement reads: no BEGIN/ROLLBACK
    round trips, and its own pool, since switching a pooled connection's isolation level on
    every checkout costs nearly as much as the transaction it saves.
    `statement_timeout_ms` bounds every statement on the engine's connections (0 = unbounded).
    The pool keeps every connection it opened (20, no overflow): an overflow connection is
    closed when returned, so under more concurrent calls than the pool size each call past it
    opened a new connection (a Postgres backend started, authenticated and torn down), which
    showed in a CreateCampaign's profile (docs/performance.md, "Where a Get's CPU goes").
    """
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engine(url, parsed.database, statement_timeout_ms)
    extra: dict[str, Any] = {"isolation_level": "AUTOCOMMIT"} if autocommit else {}
    connect_args: dict[str, Any] = {"timeout": POSTGRES_CONNECT_TIMEOUT_S}
    if statement_timeout_ms > 0:
        # Sent in the startup packet: no round trip, and it holds for every statement.
        connect_args["server_settings"] = {"statement_timeout": str(statement_timeout_ms)}
    return create_async_engine(
        url,
        **extra,
        execution_options={STATEMENT_TIMEOUT_OPTION: statement_timeout_ms},
        pool_size=pool_size,
        max_overflow=max_overflow,
        # No pre-ping: it costs a round trip on every checkout. A connection that died meanwhile
        # fails its statement, is invalidated by SQLAlchemy and the call answers UNAVAILABLE;
        # the health probe reports the outage; recycling retires connections idle reapers kill.
        pool_recycle=1800,
        connect_args=connect_args,
        # JSON and JSONB values read through orjson, exactly as json.loads would (documents.py)
        json_deserializer=decode_document,
    )


def statement_timeout_of(engine: AsyncEngine) -> int:
    """The statement timeout `engine` was made with, for a second engine on the same database."""
    value = engine.get_execution_options().get(STATEMENT_TIMEOUT_OPTION)
    return DEFAULT_STATEMENT_TIMEOUT_MS if value is None else int(value)


def sqlite_url_for(data_dir: Path) -> str:
    return f"sqlite+aiosqlite:///{(data_dir / SQLITE_FILE).absolute()}"


def is_postgres(engine: AsyncEngine | AsyncConnection | Engine | Connection) -> bool:
    return engine.dialect.name == "postgresql"


def _sqlite_engine(url: str, database: str | None, statement_timeout_ms: int) -> AsyncEngine:
    in_memory = not database or database == ":memory:"
    if not in_memory:
        owner_only_database(Path(database or ""))
    # A file database needs no pool: opening it is cheap and a fresh connection never carries a
    # stale transaction. An in-memory database exists only inside its one connection.
    engine = create_async_engine(
        url,
        poolclass=StaticPool if in_memory else NullPool,
        execution_options={STATEMENT_TIMEOUT_OPTION: statement_timeout_ms},
        json_deserializer=decode_document,
    )
    event.listen(engine.sync_engine, "connect", _configure_sqlite_connection)
    event.listen(engine.sync_engine, "begin", _begin)
    if statement_timeout_ms > 0:
        seconds = statement_timeout_ms / 1000

        def install(dbapi_connection: Any, record: Any) -> None:
            budget = StatementBudget(seconds)
            record.info[_BUDGET] = budget
            await_(dbapi_connection._connection.set_progress_handler(budget, SQLITE_PROGRESS_STEPS))

        event.listen(engine.sync_engine, "connect", install)
        event.listen(engine.sync_engine, "before_cursor_execute", _start_budget)
        event.listen(engine.sync_engine, "after_cursor_execute", _stop_budget)
        event.listen(engine.sync_engine, "handle_error", _stop_budget_on_error)
    return engine


class StatementBudget:
    """SQLite's statement timeout: a progress handler that interrupts the running statement
    once its deadline has passed. The deadline is set when a statement starts and cleared when
    it ends (SQLAlchemy events, in the event loop's thread); SQLite calls the handler every
    SQLITE_PROGRESS_STEPS instructions in aiosqlite's thread, so a check is one clock read."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.deadline = math.inf

    def start(self) -> None:
        self.deadline = time.monotonic() + self.seconds

    def stop(self) -> None:
        self.deadline = math.inf

    def __call__(self) -> int:
        return 1 if time.monotonic() > self.deadline else 0  # non-zero interrupts


def _budget(conn: Connection) -> StatementBudget | None:
    budget = conn.connection.info.get(_BUDGET)
    return budget if isinstance(budget, StatementBudget) else None


def _start_budget(conn: Connection, *_args: Any) -> None:
    budget = _budget(conn)
    if budget is not None:
        budget.start()


def _stop_budget(conn: Connection, *_args: Any) -> None:
    budget = _budget(conn)
    if budget is not None:
        budget.stop()


def _stop_budget_on_error(context: Any) -> None:
    if context.connection is not None and not context.connection.closed:
        _stop_budget(context.connection)


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
