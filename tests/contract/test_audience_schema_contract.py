"""The audience tables: part of the shared MetaData, and migration 0002 undoes and redoes cleanly.

test_sql_migrations compares the migrated schema with `metadata`; that only covers these tables
while adapters.sql.full_schema pulls them in, which the first test pins down in a fresh interpreter
(in this one, any earlier import of the audience modules would hide a missing import).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, inspect
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.sql.full_schema import metadata
from adapters.sql.migrate import alembic_config, upgrade_to_head

AUDIENCE_TABLES = {"contacts", "segments", "suppressions"}
ROOT = Path(__file__).resolve().parents[2]


def test_the_audience_tables_are_part_of_the_shared_metadata() -> None:
    check = (
        "from adapters.sql.full_schema import metadata; "
        f"missing = {sorted(AUDIENCE_TABLES)!r} - metadata.tables.keys(); "
        "assert not missing, missing"
    )

    result = subprocess.run(
        [sys.executable, "-c", check], cwd=ROOT, capture_output=True, text=True, check=False
    )

    assert result.returncode == 0, result.stderr


def _downgrade_to_initial(connection: Connection) -> set[str]:
    with connection.begin():
        command.downgrade(alembic_config(connection), "0001")
    return set(inspect(connection).get_table_names())


def _differences(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, metadata))


async def test_the_audience_migration_downgrades_and_upgrades_again(
    empty_engine: AsyncEngine,
) -> None:
    await upgrade_to_head(empty_engine)

    async with empty_engine.connect() as connection:
        remaining = await connection.run_sync(_downgrade_to_initial)
    await upgrade_to_head(empty_engine)
    async with empty_engine.connect() as connection:
        differences = await connection.run_sync(_differences)

    assert remaining & AUDIENCE_TABLES == set()
    assert "campaigns" in remaining
    assert differences == []
