"""Alembic migrations against SQLite and Postgres: they build exactly the declared schema."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from adapters.sql.full_schema import metadata
from adapters.sql.migrate import (
    SchemaOutOfDateError,
    alembic_config,
    current_revision,
    ensure_schema_current,
    head_revision,
    upgrade_to_head,
)

NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)


def _differences(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, metadata))


async def test_migrations_build_exactly_the_declared_schema(empty_engine: AsyncEngine) -> None:
    await upgrade_to_head(empty_engine)

    async with empty_engine.connect() as connection:
        differences = await connection.run_sync(_differences)

    assert differences == []


async def test_an_unmigrated_database_differs_from_the_declared_schema(
    empty_engine: AsyncEngine,
) -> None:
    async with empty_engine.connect() as connection:
        differences = await connection.run_sync(_differences)

    assert {diff[1].name for diff in differences if diff[0] == "add_table"} == set(metadata.tables)


async def test_an_empty_database_fails_the_schema_check_with_the_fix(
    empty_engine: AsyncEngine,
) -> None:
    with pytest.raises(SchemaOutOfDateError, match="run `campaign-service migrate`") as raised:
        await ensure_schema_current(empty_engine)

    assert head_revision() in str(raised.value)
    assert await current_revision(empty_engine) is None


async def test_a_migrated_database_passes_the_schema_check(empty_engine: AsyncEngine) -> None:
    await upgrade_to_head(empty_engine)

    await ensure_schema_current(empty_engine)

    assert await current_revision(empty_engine) == head_revision()


async def test_migrating_again_changes_nothing(empty_engine: AsyncEngine) -> None:
    await upgrade_to_head(empty_engine)

    await upgrade_to_head(empty_engine)

    assert await current_revision(empty_engine) == head_revision()


@asynccontextmanager
async def migrated_to(engine: AsyncEngine, revision: str) -> AsyncIterator[AsyncConnection]:
    """A transaction on a database migrated up to `revision`, to store rows the next
    migrations must carry over."""

    def upgrade(connection: Connection) -> None:
        command.upgrade(alembic_config(connection), revision)

    async with engine.begin() as connection:
        await connection.run_sync(upgrade)
        yield connection


async def rows_after_upgrade(engine: AsyncEngine, query: str) -> list[tuple[Any, ...]]:
    await upgrade_to_head(engine)
    async with engine.connect() as connection:
        return [tuple(row) for row in await connection.execute(text(query))]


async def test_the_attribute_names_migration_backfills_the_stored_contacts(
    empty_engine: AsyncEngine,
) -> None:
    async with migrated_to(empty_engine, "0004") as connection:
        for org, user_id, attributes in [
            ("org-a", "u1", '{"first_name": "Ana", "plan": "pro"}'),
            ("org-a", "u2", '{"plan": "free", "age": 30}'),
            ("org-b", "u1", '{"secret": 1}'),
            ("org-b", "u2", "{}"),
        ]:
            await connection.execute(
                text(
                    "INSERT INTO contacts VALUES (:org, :user_id, '', '', false, 'UTC', '', false,"
                    " false, false, false, :attributes, :now, :now)"
                ),
                {"org": org, "user_id": user_id, "attributes": attributes, "now": NOW},
            )
    assert await rows_after_upgrade(
        empty_engine, "SELECT organization_id, name FROM contact_attribute_names ORDER BY 1, 2"
    ) == [
        ("org-a", "age"),
        ("org-a", "first_name"),
        ("org-a", "plan"),
        ("org-b", "secret"),
    ]


async def test_the_address_folding_migration_folds_and_merges_suppressed_addresses(
    empty_engine: AsyncEngine,
) -> None:
    async with migrated_to(empty_engine, "0005") as connection:
        for kind, target, channel in [
            ("address", "Ann@Example.com", "*"),
            ("address", "ann@example.com", "*"),  # its folded twin: kept, the other dropped
            ("address", "BOB@example.com", "email"),
            ("address", "Ünal@example.com", "*"),  # no ASCII capital: stays as it is
            ("user", "U-1", "*"),  # user ids are not addresses
        ]:
            await connection.execute(
                text(
                    "INSERT INTO suppressions VALUES ('org-a', :kind, :target, :channel,"
                    " 'unsubscribed', :now)"
                ),
                {"kind": kind, "target": target, "channel": channel, "now": NOW},
            )
    assert await rows_after_upgrade(
        empty_engine, "SELECT kind, target, channel FROM suppressions ORDER BY 1, 2, 3"
    ) == [
        ("address", "ann@example.com", "*"),
        ("address", "bob@example.com", "email"),
        ("address", "Ünal@example.com", "*"),
        ("user", "U-1", "*"),
    ]


MESSAGE_INSERT = (
    "INSERT INTO messages (message_id, organization_id, campaign_id, execution_id, user_id,"
    " variant_id, channel, recipient, content, content_digest, status, send_after, queued_at,"
    " error) VALUES (:message_id, 'org-a', 'c1', 'e1', :user_id, 'v1', 'email', 'a@b.c', '{}',"
    " 'd', :status, :now, :now, '')"
)


async def test_the_handovers_migration_gives_rows_claimed_the_old_way_back_to_the_relay(
    empty_engine: AsyncEngine,
) -> None:
    async with migrated_to(empty_engine, "0006") as connection:
        for message_id, status in [("m1", "dispatching"), ("m2", "queued"), ("m3", "sent")]:
            await connection.execute(
                text(MESSAGE_INSERT),
                {"message_id": message_id, "user_id": message_id, "status": status, "now": NOW},
            )
    assert await rows_after_upgrade(
        empty_engine, "SELECT message_id, status, handover_id FROM messages ORDER BY 1"
    ) == [("m1", "queued", None), ("m2", "queued", None), ("m3", "sent", None)]


async def test_downgrading_the_handovers_migration_writes_each_batch_status_onto_its_rows(
    empty_engine: AsyncEngine,
) -> None:
    await upgrade_to_head(empty_engine)
    async with empty_engine.begin() as connection:
        for handover_id, status in [("m1", "sent"), ("m2", "claimed")]:
            await connection.execute(
                text(
                    "INSERT INTO handovers VALUES (:handover_id, 'e1', :status, :handover_id,"
                    " :handover_id, 1, :at)"
                ),
                {"handover_id": handover_id, "status": status, "at": NOW},
            )
            await connection.execute(
                text(MESSAGE_INSERT),
                {
                    "message_id": handover_id,
                    "user_id": handover_id,
                    "status": "dispatching",
                    "now": NOW,
                },
            )
            await connection.execute(
                text("UPDATE messages SET handover_id = :id WHERE message_id = :id"),
                {"id": handover_id},
            )

    def downgrade(connection: Connection) -> None:
        command.downgrade(alembic_config(connection), "0006")

    async with empty_engine.begin() as connection:
        await connection.run_sync(downgrade)
        rows = await connection.execute(
            text("SELECT message_id, status, sent_at IS NOT NULL FROM messages ORDER BY 1")
        )
        # The batch handed over is sent; the claimed one stays claimed, for the old release.
        assert [tuple(row) for row in rows] == [("m1", "sent", True), ("m2", "dispatching", False)]
