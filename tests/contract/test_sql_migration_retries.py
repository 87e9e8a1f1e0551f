"""Migration 0009 carries the runs of an existing database into the fair, retrying queue."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.contract.builders import T0
from tests.contract.test_sql_migrations import migrated_to, rows_after_upgrade

WAIT_UNTIL = T0 + timedelta(minutes=30)


async def test_the_retries_migration_queues_each_run_at_its_due_time_or_its_wait(
    empty_engine: AsyncEngine,
) -> None:
    async with migrated_to(empty_engine, "0007"):
        pass
    async with empty_engine.begin() as connection:
        # The campaign as that revision stored it (today's repository writes later columns).
        await connection.execute(
            text(
                "INSERT INTO campaigns (campaign_id, organization_id, name, description,"
                " campaign_type, status, version, spec, created_by, updated_by, created_at,"
                " updated_at, cancel_reason) VALUES ('c-1', 'org-a', 'c-1', '', 'scheduled',"
                " 'running', 1, '{\"name\": \"c-1\"}', 'alice', 'alice', :now, :now, '')"
            ),
            {"now": T0},
        )
        for execution_id, due_minute, owner, lease in [
            ("e-due", 1, None, None),  # never leased: queued at its due time
            ("e-waiting", 2, None, WAIT_UNTIL),  # released to wait for deferred messages
            ("e-leased", 3, "x", WAIT_UNTIL),  # held right now: its lease stays
        ]:
            await connection.execute(
                text(
                    "INSERT INTO executions VALUES (:id, 'org-a', 'c-1', 'running', 'schedule',"
                    " :due, :due, NULL, NULL, false, '', false, '{}', '', :owner, :lease)"
                ),
                {
                    "id": execution_id,
                    "due": T0 + timedelta(minutes=due_minute),
                    "owner": owner,
                    "lease": lease,
                },
            )

    rows = await rows_after_upgrade(
        empty_engine,
        "SELECT execution_id, attempts, last_error, lease_expires_at IS NULL"
        " FROM executions ORDER BY next_attempt_at, execution_id",
    )

    assert rows == [
        ("e-due", 0, "", True),
        ("e-leased", 0, "", False),
        ("e-waiting", 0, "", True),
    ]
