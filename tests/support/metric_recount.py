"""The metric ledger checked against a recount of the message table: the exactness guarantee of
docs/metrics.md, as tests assert it after any workload.

The recount reads every message as clients see it (adapters/sql/execution/message_rows.py): a
row of a batch handed over as a whole (`dispatching`, its handovers row no longer `claimed`)
counts as sent at its batch's instant, and as delivered when the batch was delivered. Each cell
(execution, variant, channel, segment) of the ledger, summed over its shards, must equal
`count(*) where <state>_at is not null` of the cell's messages; each run's holdout must equal
the holdout count of its execution.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from sqlalchemy import and_, case, func, literal, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from adapters.sql.execution.message_rows import CLAIMED, DISPATCHING, WITH_HANDOVERS
from adapters.sql.execution.tables import executions, handovers, messages
from adapters.sql.metrics.tables import metric_counters

CELL = ("organization_id", "campaign_id", "execution_id", "variant_id", "channel", "segment_id")
STATES = (
    "queued",
    "sent",
    "delivered",
    "opened",
    "clicked",
    "converted",
    "bounced",
    "failed",
    "unsubscribed",
)


def _count(condition: Any) -> Any:
    return func.sum(case((condition, literal(1)), else_=literal(0)))


def _recount_statement() -> Any:
    m = messages.c
    handed_over = and_(m.status == DISPATCHING, handovers.c.status != CLAIMED)
    stamped = {
        "queued": m.queued_at.is_not(None),
        "sent": or_(m.sent_at.is_not(None), handed_over),
        "delivered": or_(
            m.delivered_at.is_not(None), and_(handed_over, handovers.c.status == "delivered")
        ),
        **{s: m[f"{s}_at"].is_not(None) for s in STATES[3:]},
    }
    cell = [m[c] for c in CELL]
    return (
        select(*cell, *(_count(stamped[s]).label(s) for s in STATES))
        .select_from(WITH_HANDOVERS)
        .group_by(*cell)
    )


async def _recount(connection: AsyncConnection) -> dict[tuple[str, ...], dict[str, int]]:
    rows = (await connection.execute(_recount_statement())).mappings().all()
    return {tuple(r[c] for c in CELL): {s: int(r[s] or 0) for s in STATES} for r in rows}


async def _ledger(connection: AsyncConnection) -> dict[tuple[str, ...], dict[str, int]]:
    t = metric_counters.c
    cell = [t[c] for c in CELL]
    kept = (*STATES, "holdout")
    statement = select(*cell, *(func.sum(t[s]).label(s) for s in kept)).group_by(*cell)
    rows = (await connection.execute(statement)).mappings().all()
    return {tuple(r[c] for c in CELL): {s: int(r[s] or 0) for s in kept} for r in rows}


async def mismatches(engine: AsyncEngine, organization_id: str | None = None) -> list[str]:
    """Every cell and state where the ledger differs from the recount (empty: exact), and every
    run whose ledger holdout differs from its execution's holdout count; of one organization
    when given. Both are read in one snapshot (REPEATABLE READ on Postgres, one transaction on
    SQLite), so the check holds while writers keep going."""
    runs_of = select(executions.c.execution_id, executions.c.counts)
    if organization_id is not None:
        runs_of = runs_of.where(executions.c.organization_id == organization_id)
    async with engine.connect() as connection:
        if connection.dialect.name == "postgresql":
            await connection.execution_options(isolation_level="REPEATABLE READ")
        async with connection.begin():
            counted, kept = await _recount(connection), await _ledger(connection)
            runs = (await connection.execute(runs_of)).all()
    if organization_id is not None:
        counted = {c: v for c, v in counted.items() if c[0] == organization_id}
        kept = {c: v for c, v in kept.items() if c[0] == organization_id}
    problems = []
    for cell in sorted(set(counted) | set(kept)):
        expected = counted.get(cell, dict.fromkeys(STATES, 0))
        found = kept.get(cell, dict.fromkeys(STATES, 0))
        for state in STATES:
            if expected[state] != found.get(state, 0):
                problems.append(
                    f"{cell} {state}: ledger {found.get(state, 0)}, messages {expected[state]}"
                )
    holdouts: dict[str, int] = defaultdict(int)
    for cell, values in kept.items():
        holdouts[cell[2]] += values["holdout"]
    for execution_id, counts in runs:
        expected_holdout = int((counts or {}).get("holdout", 0))
        if holdouts.get(execution_id, 0) != expected_holdout:
            problems.append(
                f"execution {execution_id} holdout: ledger {holdouts.get(execution_id, 0)}, "
                f"execution counts {expected_holdout}"
            )
    return problems
