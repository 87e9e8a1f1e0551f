"""HoldoutLog on SQL: a run's holdout members, written with the batch that held them out.

One executemany per batch (a cached INSERT ... ON CONFLICT DO NOTHING), so a run's hot path pays
one statement for its holdout. A batch commits with the checkpoint past it, so an executor that
restarts never writes it again; should a member be written twice all the same, the second write
changes nothing instead of failing the run.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncConnection

from adapters.sql.audience.stores import dialect_insert
from adapters.sql.execution.tables import holdout_members


class SqlHoldoutLog:
    def __init__(self, connection: AsyncConnection) -> None:
        self._c = connection

    async def add(
        self,
        organization_id: str,
        campaign_id: str,
        execution_id: str,
        user_ids: Sequence[str],
        at: datetime,
    ) -> None:
        if not user_ids:
            return
        statement = dialect_insert(self._c, holdout_members).on_conflict_do_nothing(
            index_elements=[holdout_members.c.execution_id, holdout_members.c.user_id]
        )
        await self._c.execute(
            statement,
            [
                {
                    "execution_id": execution_id,
                    "user_id": user_id,
                    "organization_id": organization_id,
                    "campaign_id": campaign_id,
                    "held_out_at": at,
                }
                for user_id in user_ids
            ],
        )
