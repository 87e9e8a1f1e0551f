"""Migration 0015 on SQLite and Postgres: a campaign stored before it gets its conversion event
type copied out of its definition, the column conversion events find campaigns by."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.contract.test_sql_migrations import NOW, migrated_to, rows_after_upgrade

CAMPAIGN_INSERT = (
    "INSERT INTO campaigns (campaign_id, organization_id, name, description, campaign_type,"
    " status, version, spec, created_by, updated_by, created_at, updated_at, cancel_reason)"
    " VALUES (:campaign_id, 'org-a', :campaign_id, '', 'scheduled', 'completed', 1, :spec,"
    " 'alice', 'alice', :now, :now, '')"
)


async def test_the_conversions_migration_copies_each_campaigns_conversion_event_type(
    empty_engine: AsyncEngine,
) -> None:
    async with migrated_to(empty_engine, "0014") as connection:
        for campaign_id, spec in [
            ("c-goal", '{"name": "x", "conversion": {"event_type": "order.completed"}}'),
            ("c-none", '{"name": "y", "conversion": null}'),
            ("c-old", '{"name": "z"}'),
        ]:
            await connection.execute(
                text(CAMPAIGN_INSERT), {"campaign_id": campaign_id, "spec": spec, "now": NOW}
            )

    assert await rows_after_upgrade(
        empty_engine, "SELECT campaign_id, conversion_event_type FROM campaigns ORDER BY 1"
    ) == [("c-goal", "order.completed"), ("c-none", None), ("c-old", None)]
