"""TriggerStore on SQL: the evaluations table, the per-event lookup of active triggered
campaigns, and the per-(campaign, user) lock of the frequency decision.

The lock is a transaction-scoped Postgres advisory lock on a 64-bit hash of (campaign, user):
two replicas evaluating the same user for the same campaign take turns, so the second counts the
first's committed firing. A hash collision only makes two unrelated pairs wait for each other.
SQLite needs none: its writers are serialized by the database lock the intake's transaction
holds from its first statement.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import Text, and_, bindparam, insert, or_, select, text, tuple_
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.expression import Executable

from adapters.sql.audience.connections import chunked
from adapters.sql.campaigns.tables import campaigns
from adapters.sql.documents import decode_document
from adapters.sql.engine import CUSTOM_PLANS, is_postgres
from adapters.sql.events.tables import FIRING_OUTCOMES, trigger_evaluations
from adapters.sql.schema import UtcDateTime
from domain.campaigns.model import CampaignStatus, CampaignType
from domain.events.trigger_model import ActiveCampaign, TriggerEvaluation, Verdict
from domain.kernel.paging import decode_instant, decode_page_token, encode_page_token

# The locks of many keys in one statement, taken in key order (the subquery's ORDER BY).
_LOCK_MANY = text(
    "SELECT pg_advisory_xact_lock(hashtextextended(k, 0)) "
    "FROM (SELECT unnest(CAST(:keys AS text[])) AS k ORDER BY 1) AS ordered"
)

# The frequency count's firings of many (campaign, user) pairs on Postgres: the pairs as a table
# (two arrays unnested side by side) joined to the partial index of firings, one index probe per
# pair. Written as `(campaign_id, user_id) IN ((...), ...)` instead, the planner picked the
# campaign's listing index and filtered every evaluation of the campaign in the window: 28 ms for
# 48 pairs after a minute of 500 events/s, and growing with the campaign's traffic, against
# 0.3 ms this way (docs/performance.md). Planned for each call (CUSTOM_PLANS): the generic plan
# made in the first seconds, on an almost empty table, scanned every evaluation of the
# organization in the window instead, 20-140 ms per call after a minute at 500 events/s.
_FIRINGS_OF_PAIRS = (
    text(
        "SELECT t.campaign_id, t.trigger_id, t.user_id, t.evaluated_at "
        "FROM unnest(CAST(:campaign_ids AS text[]), CAST(:user_ids AS text[])) "
        "AS pairs(campaign_id, user_id) "
        "JOIN trigger_evaluations AS t "
        'ON t.campaign_id = pairs.campaign_id COLLATE "C" '
        'AND t.user_id = pairs.user_id COLLATE "C" '
        "WHERE t.outcome IN ("
        + ", ".join(f"'{outcome}'" for outcome in FIRING_OUTCOMES)
        + ") AND t.evaluated_at >= :since AND t.organization_id = :organization_id"
    )
    .bindparams(
        bindparam("campaign_ids", type_=ARRAY(Text())),
        bindparam("user_ids", type_=ARRAY(Text())),
        bindparam("since", type_=UtcDateTime()),
    )
    .columns(evaluated_at=UtcDateTime())
)

_EVALUATION_COLUMNS = (
    "evaluation_id",
    "organization_id",
    "campaign_id",
    "trigger_id",
    "event_id",
    "event_type",
    "user_id",
    "outcome",
    "reason",
    "message_ids",
    "evaluated_at",
)


class SqlTriggerStore:
    def __init__(self, connection: AsyncConnection) -> None:
        self._c = connection

    async def active_campaigns(self, organization_id: str) -> Sequence[ActiveCampaign]:
        # In campaign_id order: two events about one user that fire the same campaigns take
        # their per-(campaign, user) locks in the same order, so they never deadlock.
        rows = await self._c.execute(
            select(campaigns.c.campaign_id, campaigns.c.version)
            .where(
                campaigns.c.organization_id == organization_id,
                campaigns.c.status == CampaignStatus.ACTIVE.value,
                campaigns.c.campaign_type == CampaignType.TRIGGERED.value,
            )
            .order_by(campaigns.c.campaign_id)
        )
        return [ActiveCampaign(campaign_id, int(version)) for campaign_id, version in rows]

    async def lock_users(self, pairs: Sequence[tuple[str, str]]) -> None:
        if is_postgres(self._c) and pairs:
            keys = sorted({f"{campaign_id}\x1f{user_id}" for campaign_id, user_id in pairs})
            await self._c.execute(_LOCK_MANY, {"keys": keys})

    async def firings_since(
        self, organization_id: str, pairs: Sequence[tuple[str, str]], since: datetime
    ) -> dict[tuple[str, str, str], list[datetime]]:
        t = trigger_evaluations.c
        found: dict[tuple[str, str, str], list[datetime]] = {}
        unique = sorted(set(pairs))
        batches: list[Executable]
        if is_postgres(self._c):
            batches = [
                _FIRINGS_OF_PAIRS.bindparams(
                    campaign_ids=[campaign_id for campaign_id, _ in unique],
                    user_ids=[user_id for _, user_id in unique],
                    since=since,
                    organization_id=organization_id,
                )
            ]
        else:
            batches = [
                select(t.campaign_id, t.trigger_id, t.user_id, t.evaluated_at).where(
                    tuple_(t.campaign_id, t.user_id).in_(chunk),
                    t.evaluated_at >= since,
                    t.outcome.in_(FIRING_OUTCOMES),
                    t.organization_id == organization_id,
                )
                for chunk in chunked(unique)
            ]
        if is_postgres(self._c):
            await self._c.execute(CUSTOM_PLANS)  # the one plan that stays fast: see the query
        for statement in batches:
            for campaign_id, trigger_id, user_id, at in await self._c.execute(statement):
                found.setdefault((campaign_id, trigger_id, user_id), []).append(at)
        return found

    async def add(self, evaluations: Sequence[TriggerEvaluation]) -> None:
        if not evaluations:
            return
        if is_postgres(self._c):
            await self._copy(evaluations)
            return
        # executemany of one cached statement: a multi-row VALUES is compiled anew per call.
        await self._c.execute(
            insert(trigger_evaluations),
            [
                {
                    "evaluation_id": e.evaluation_id,
                    "organization_id": e.organization_id,
                    "campaign_id": e.campaign_id,
                    "trigger_id": e.trigger_id,
                    "event_id": e.event_id,
                    "event_type": e.event_type,
                    "user_id": e.user_id,
                    "outcome": e.outcome.value,
                    "reason": e.reason,
                    "message_ids": list(e.message_ids),
                    "evaluated_at": e.evaluated_at,
                }
                for e in evaluations
            ],
        )

    async def _copy(self, evaluations: Sequence[TriggerEvaluation]) -> None:
        """COPY inside the caller's transaction: an inbound event writes one evaluation per
        active triggered campaign of its organization, the most rows of any write of the intake,
        and COPY took a third less of the database's time than the same rows as an executemany
        INSERT (docs/performance.md)."""
        raw = await self._c.get_raw_connection()
        driver = raw.driver_connection  # the asyncpg connection, inside our transaction
        assert driver is not None
        records = [
            (
                e.evaluation_id,
                e.organization_id,
                e.campaign_id,
                e.trigger_id,
                e.event_id,
                e.event_type,
                e.user_id,
                e.outcome.value,
                e.reason,
                orjson.dumps(list(e.message_ids)).decode(),
                e.evaluated_at,
            )
            for e in evaluations
        ]
        await driver.copy_records_to_table(
            "trigger_evaluations", records=records, columns=_EVALUATION_COLUMNS
        )

    async def list(
        self,
        organization_id: str,
        *,
        campaign_id: str = "",
        user_id: str = "",
        after: str = "",
        limit: int = 50,
    ) -> tuple[Sequence[TriggerEvaluation], str]:
        """Newest first: (evaluated_at, evaluation_id) descending, keyset-paged."""
        t = trigger_evaluations.c
        query = ("trigger_evaluations", campaign_id, user_id)
        position = decode_page_token(after, query, size=2)
        where: list[Any] = [t.organization_id == organization_id]
        if campaign_id:
            where.append(t.campaign_id == campaign_id)
        if user_id:
            where.append(t.user_id == user_id)
        if position is not None:
            at = decode_instant(position[0])
            where.append(
                or_(t.evaluated_at < at, and_(t.evaluated_at == at, t.evaluation_id < position[1]))
            )
        statement = (
            select(trigger_evaluations)
            .where(*where)
            .order_by(t.evaluated_at.desc(), t.evaluation_id.desc())
            .limit(limit + 1)
        )
        found = [_evaluation(row) for row in (await self._c.execute(statement)).mappings()]
        page = found[:limit]
        last = (
            (page[-1].evaluated_at.isoformat(), page[-1].evaluation_id)
            if len(found) > limit
            else None
        )
        return page, encode_page_token(last, query)


def _evaluation(row: Any) -> TriggerEvaluation:
    return TriggerEvaluation(
        organization_id=row["organization_id"],
        evaluation_id=row["evaluation_id"],
        campaign_id=row["campaign_id"],
        trigger_id=row["trigger_id"],
        event_id=row["event_id"],
        event_type=row["event_type"],
        user_id=row["user_id"],
        outcome=Verdict(row["outcome"]),
        reason=row["reason"],
        message_ids=tuple(decode_document(row["message_ids"])),
        evaluated_at=row["evaluated_at"],
    )
