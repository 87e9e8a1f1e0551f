"""Schema migrations (Alembic) driven from code, and the startup check that refuses a stale schema.

Migrating is an explicit step (`campaign-service migrate`), not a side effect of serving: with
several replicas, whichever started first would otherwise migrate under the feet of the others.
The server only checks the revision and stops with an actionable message when it is behind.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, text
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.sql.engine import SQLITE_BEGIN_OPTION
from adapters.sql.failures import database_errors_as_domain_errors

MIGRATIONS = Path(__file__).with_name("migrations")
# Arbitrary but fixed: concurrent `migrate` runs against one Postgres take turns on this key.
_MIGRATION_LOCK_KEY = 7_202_401_001


class SchemaOutOfDateError(RuntimeError):
    """The database is not at the revision this build was written for."""


def alembic_config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:
        raise RuntimeError(f"no migrations found in {MIGRATIONS}")
    return head


async def current_revision(engine: AsyncEngine) -> str | None:
    connection = engine.connect()
    with database_errors_as_domain_errors():  # an unreachable database is an outage, not a bug
        await connection.start()
    try:
        await connection.execution_options(**{SQLITE_BEGIN_OPTION: "BEGIN"})  # a read
        return await connection.run_sync(
            lambda sync: MigrationContext.configure(sync).get_current_revision()
        )
    finally:
        await connection.close()


async def ensure_schema_current(engine: AsyncEngine) -> None:
    current, expected = await current_revision(engine), head_revision()
    if current != expected:
        raise SchemaOutOfDateError(
            f"the database schema is at revision {current or 'none (empty database)'} but this "
            f"build expects {expected}; run `campaign-service migrate`"
        )


async def upgrade_to_head(engine: AsyncEngine) -> None:
    """Apply every pending migration in one transaction (DDL is transactional on both databases)."""
    async with engine.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:
            # SQLite rebuilds tables to alter them, and dropping the old copy with foreign keys
            # on would cascade-delete the child rows. The pragma is ignored inside a transaction.
            await connection.run_sync(_sqlite_foreign_keys, enabled=False)
        try:
            await connection.run_sync(_upgrade)
            await connection.commit()
        except BaseException:
            await connection.rollback()
            raise
        finally:
            if sqlite:
                await connection.run_sync(_sqlite_foreign_keys, enabled=True)


def _upgrade(connection: Connection) -> None:
    connection.begin()  # ours: Alembic then runs inside it and leaves the commit to us
    if connection.dialect.name == "postgresql":
        # Migrations may wait for another migrator and rebuild indexes: no statement timeout
        # (adapters.sql.engine) for this transaction only.
        connection.execute(text("SET LOCAL statement_timeout = 0"))
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK_KEY})
    command.upgrade(alembic_config(connection), "head")
    if connection.dialect.name == "sqlite":
        broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
        if broken:
            raise RuntimeError(f"migration left rows violating foreign keys: {broken[:5]}")


def _sqlite_foreign_keys(connection: Connection, *, enabled: bool) -> None:
    cursor = connection.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    cursor.execute(f"PRAGMA foreign_keys={'ON' if enabled else 'OFF'}")
    cursor.close()
