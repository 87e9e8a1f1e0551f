"""ExecutionRepository on SQL. Leases make one executor own an execution at a time; progress is
written only while the lease is held and the cursor is where the writer left it, so an executor
that lost its lease (a long GC pause, a network split) can never commit a second copy of a batch.

The queue is fair (docs/lifecycle.md): a run is offered no earlier than its `next_attempt_at`,
which a release moves to the back of the queue (or later, after a failure); and a run of an
organization that has none leased right now goes before the runs of one that has, so the
executors of every replica are not all taken by one organization's runs.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Text, and_, case, exists, insert, literal, or_, select, tuple_, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from adapters.sql.campaigns.tables import campaigns
from adapters.sql.engine import is_postgres
from adapters.sql.execution.tables import executions
from adapters.sql.schema import UtcDateTime
from domain.campaigns.model import CampaignStatus
from domain.execution.model import Execution, ExecutionCounts, ExecutionStatus
from domain.kernel.paging import decode_instant, decode_page_token, encode_page_token

NEEDS_EXECUTOR = (ExecutionStatus.PENDING, ExecutionStatus.RUNNING, ExecutionStatus.PAUSED)
CAMPAIGN_STATES_TO_ACT_ON = (CampaignStatus.RUNNING, CampaignStatus.CANCELLED)


def _row(e: Execution) -> dict[str, Any]:
    return {
        "execution_id": e.execution_id,
        "organization_id": e.organization_id,
        "campaign_id": e.campaign_id,
        "status": e.status.value,
        "trigger": e.trigger,
        "due_at": e.due_at,
        "created_at": e.created_at,
        "started_at": e.started_at,
        "completed_at": e.completed_at,
        "missed_firing": e.missed_firing,
        "cursor": e.cursor,
        "fanned_out": e.fanned_out,
        "counts": dataclasses.asdict(e.counts),
        "failure_reason": e.failure_reason,
        "attempts": e.attempts,
        "last_error": e.last_error,
        "next_attempt_at": e.next_attempt_at or e.due_at,
    }


# Written only by lease and release: a progress save must not move the run in the queue.
_QUEUE_COLUMNS = ("attempts", "last_error", "next_attempt_at")


def _execution(row: Mapping[Any, Any]) -> Execution:
    return Execution(
        execution_id=row["execution_id"],
        campaign_id=row["campaign_id"],
        organization_id=row["organization_id"],
        status=ExecutionStatus(row["status"]),
        trigger=row["trigger"],
        due_at=row["due_at"],
        created_at=row["created_at"],
        missed_firing=row["missed_firing"],
        cursor=row["cursor"],
        fanned_out=row["fanned_out"],
        counts=ExecutionCounts(**row["counts"]),
        started_at=row["started_at"],
        completed_at=row["completed_at"],
        failure_reason=row["failure_reason"],
        attempts=row["attempts"],
        last_error=row["last_error"],
        next_attempt_at=row["next_attempt_at"],
    )


def _after(token: str, campaign_id: str) -> tuple[datetime, str] | None:
    position = decode_page_token(token, _list_query(campaign_id), size=2)
    if position is None:
        return None
    created_at, execution_id = position
    return decode_instant(created_at), execution_id


def _list_query(campaign_id: str) -> object:
    return ("executions", campaign_id)


class SqlExecutionRepository:
    def __init__(self, connection: AsyncConnection) -> None:
        self._c = connection

    async def add(self, execution: Execution) -> bool:
        try:
            async with self._c.begin_nested():
                await self._c.execute(insert(executions).values(_row(execution)))
        except IntegrityError:
            return False  # this firing already has its execution
        return True

    async def get(self, organization_id: str, execution_id: str) -> Execution | None:
        row = (
            (
                await self._c.execute(
                    select(executions).where(
                        executions.c.organization_id == organization_id,
                        executions.c.execution_id == execution_id,
                    )
                )
            )
            .mappings()
            .first()
        )
        return None if row is None else _execution(row)

    async def list(
        self, organization_id: str, campaign_id: str, *, after: str = "", limit: int = 50
    ) -> tuple[Sequence[Execution], str]:
        """Newest first; `after` is the page token of the previous page (domain.kernel.paging)."""
        where = [
            executions.c.organization_id == organization_id,
            executions.c.campaign_id == campaign_id,
        ]
        if (position := _after(after, campaign_id)) is not None:
            created_at, execution_id = position
            where.append(
                tuple_(executions.c.created_at, executions.c.execution_id)
                < tuple_(literal(created_at, UtcDateTime()), literal(execution_id, Text()))
            )
        statement = (
            select(executions)
            .where(*where)
            .order_by(executions.c.created_at.desc(), executions.c.execution_id.desc())
            .limit(limit + 1)
        )
        found = [_execution(r) for r in (await self._c.execute(statement)).mappings()]
        page = found[:limit]
        more = len(found) > limit
        last = (page[-1].created_at.isoformat(), page[-1].execution_id) if more else None
        return page, encode_page_token(last, _list_query(campaign_id))

    async def lease(self, owner: str, now: datetime, until: datetime) -> Execution | None:
        leased = executions.alias("leased")
        organization_busy = exists().where(
            leased.c.organization_id == executions.c.organization_id,
            leased.c.lease_owner.is_not(None),
            leased.c.lease_expires_at >= now,
        )
        statement = (
            select(executions.c.execution_id)
            .join(campaigns, campaigns.c.campaign_id == executions.c.campaign_id)
            .where(
                executions.c.status.in_([s.value for s in NEEDS_EXECUTOR]),
                or_(
                    campaigns.c.status.in_([s.value for s in CAMPAIGN_STATES_TO_ACT_ON]),
                    # paused while the run still says it runs: the executor marks it paused
                    and_(
                        campaigns.c.status == CampaignStatus.PAUSED.value,
                        executions.c.status != ExecutionStatus.PAUSED.value,
                    ),
                ),
                or_(executions.c.lease_expires_at.is_(None), executions.c.lease_expires_at < now),
                executions.c.next_attempt_at <= now,
            )
            .order_by(
                case((organization_busy, 1), else_=0),
                executions.c.next_attempt_at,
                executions.c.execution_id,
            )
            .limit(1)
        )
        if is_postgres(self._c):
            statement = statement.with_for_update(of=executions, skip_locked=True)
        execution_id = (await self._c.execute(statement)).scalar()
        if execution_id is None:
            return None
        await self._c.execute(
            update(executions)
            .where(executions.c.execution_id == execution_id)
            .values(lease_owner=owner, lease_expires_at=until)
        )
        row = (
            (
                await self._c.execute(
                    select(executions).where(executions.c.execution_id == execution_id)
                )
            )
            .mappings()
            .one()
        )
        return _execution(row)

    async def save(
        self,
        execution: Execution,
        *,
        owner: str,
        expected_cursor: str,
        lease_until: datetime | None = None,
    ) -> bool:
        values = _row(execution)
        for key in (
            "execution_id",
            "organization_id",
            "campaign_id",
            "due_at",
            "created_at",
            *_QUEUE_COLUMNS,
        ):
            values.pop(key)
        if lease_until is not None:
            values["lease_expires_at"] = lease_until
        result = await self._c.execute(
            update(executions)
            .where(
                and_(
                    executions.c.execution_id == execution.execution_id,
                    executions.c.lease_owner == owner,
                    executions.c.cursor == expected_cursor,
                )
            )
            .values(values)
        )
        return result.rowcount == 1

    async def release(
        self,
        execution_id: str,
        owner: str,
        *,
        retry_at: datetime,
        attempts: int = 0,
        last_error: str = "",
    ) -> None:
        await self._c.execute(
            update(executions)
            .where(executions.c.execution_id == execution_id, executions.c.lease_owner == owner)
            .values(
                lease_owner=None,
                lease_expires_at=None,
                next_attempt_at=retry_at,
                attempts=attempts,
                last_error=last_error,
            )
        )
