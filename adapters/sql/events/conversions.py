"""ConversionStore on SQL (docs/conversions.md): every read a conversion event makes is a small
indexed query, without an index of its own on the messages table (a run's COPY pays per index).

- Converting campaigns: the (organization_id, conversion_event_type) index of campaigns, less
  the ones completed long before the longest window could reach.
- The user's messages and holdout memberships: through the runs of those campaigns that may
  have sent in the window (executions' (organization_id, campaign_id, created_at) index), then
  (execution_id, user_id): the messages' index and the holdout table's key. A triggered or
  transactional campaign's messages are stored under an execution id of their own
  (domain.execution.model), probed the same way.
- An event's credits: the prefix (organization_id, user_id, event_id) of the conversions key.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from adapters.sql.audience.stores import dialect_insert
from adapters.sql.campaigns.tables import campaigns
from adapters.sql.engine import is_postgres
from adapters.sql.events.tables import conversions
from adapters.sql.execution.message_rows import HANDOVER_COLUMNS, WITH_HANDOVERS, message_from_row
from adapters.sql.execution.tables import executions, holdout_members, messages
from domain.campaigns.model import CampaignStatus
from domain.events.conversion_model import (
    ATTRIBUTING,
    ConvertingCampaign,
    Credit,
    HoldoutMembership,
    Touch,
)
from domain.execution.model import TRANSACTIONAL_EXECUTION, TRIGGERED_EXECUTION

# How long after its run completed a message may still be sent: a fallback goes out when its
# original failed, days later; a failed run's queued messages keep their slots. A run completed
# longer than this before the window opened is not probed.
LATE_SEND = timedelta(days=30)
_NO_RUN = (TRIGGERED_EXECUTION, TRANSACTIONAL_EXECUTION)
_ATTRIBUTING = sorted(s.value for s in ATTRIBUTING)


class SqlConversionStore:
    def __init__(self, connection: AsyncConnection) -> None:
        self._c = connection

    async def converting_campaigns(
        self, organization_id: str, event_type: str, since: datetime
    ) -> Sequence[ConvertingCampaign]:
        rows = await self._c.execute(
            select(campaigns.c.campaign_id, campaigns.c.version)
            .where(
                campaigns.c.organization_id == organization_id,
                campaigns.c.conversion_event_type == event_type,
                campaigns.c.status.in_(_ATTRIBUTING),
                or_(
                    campaigns.c.status != CampaignStatus.COMPLETED.value,
                    campaigns.c.completed_at.is_(None),
                    campaigns.c.completed_at >= since - LATE_SEND,
                ),
            )
            .order_by(campaigns.c.campaign_id)
        )
        return [ConvertingCampaign(campaign_id, int(version)) for campaign_id, version in rows]

    async def touches(
        self,
        organization_id: str,
        user_id: str,
        campaign_ids: Sequence[str],
        since: datetime,
        until: datetime,
    ) -> Sequence[Touch]:
        runs = self._runs(organization_id, campaign_ids, since, until)
        statement = (
            select(messages, *HANDOVER_COLUMNS)
            .select_from(WITH_HANDOVERS)
            .where(
                messages.c.execution_id.in_(runs),
                messages.c.user_id == user_id,
                messages.c.organization_id == organization_id,
                messages.c.campaign_id.in_(list(campaign_ids)),
                messages.c.queued_at <= until,
            )
            .order_by(messages.c.message_id)
        )
        if is_postgres(self._c):
            # In id order, as the feedback writer locks them: the two never deadlock.
            statement = statement.with_for_update(of=messages)
        rows = (await self._c.execute(statement)).mappings()
        return [_touch(row) for row in rows]

    async def holdout_memberships(
        self,
        organization_id: str,
        user_id: str,
        campaign_ids: Sequence[str],
        since: datetime,
        until: datetime,
    ) -> Sequence[HoldoutMembership]:
        h = holdout_members.c
        rows = await self._c.execute(
            select(h.campaign_id, h.execution_id, h.held_out_at).where(
                h.execution_id.in_(self._runs(organization_id, campaign_ids, since, until)),
                h.user_id == user_id,
                h.organization_id == organization_id,
                h.held_out_at >= since,
                h.held_out_at <= until,
            )
        )
        return [HoldoutMembership(c, e, at) for c, e, at in rows]

    async def credited_campaigns(
        self, organization_id: str, user_id: str, event_id: str
    ) -> set[str]:
        c = conversions.c
        rows = await self._c.execute(
            select(c.campaign_id)
            .where(
                c.organization_id == organization_id,
                c.user_id == user_id,
                c.event_id == event_id,
            )
            .distinct()
        )
        return {campaign_id for (campaign_id,) in rows}

    async def add(self, credits: Sequence[Credit], at: datetime) -> None:
        if not credits:
            return
        statement = dialect_insert(self._c, conversions).on_conflict_do_nothing(
            index_elements=[
                conversions.c.organization_id,
                conversions.c.user_id,
                conversions.c.event_id,
                conversions.c.campaign_id,
                conversions.c.message_id,
            ]
        )
        await self._c.execute(statement, [_row(credit, at) for credit in credits])

    async def convert_holdout(
        self, organization_id: str, execution_id: str, user_id: str, at: datetime
    ) -> bool:
        h = holdout_members.c
        member = (
            h.execution_id == execution_id,
            h.user_id == user_id,
            h.organization_id == organization_id,
        )
        # Under the row's lock: of two concurrent events only one finds it unconverted.
        first = await self._c.execute(
            update(holdout_members).where(*member, h.converted_at.is_(None)).values(converted_at=at)
        )
        if first.rowcount:
            return True
        await self._c.execute(  # the earliest conversion's instant is kept
            update(holdout_members).where(*member, h.converted_at > at).values(converted_at=at)
        )
        return False

    def _runs(
        self, organization_id: str, campaign_ids: Sequence[str], since: datetime, until: datetime
    ) -> Any:
        """The execution ids that may hold the user's messages (or holdout) sent in the window:
        the campaigns' runs created by `until` and not completed long before `since`, and the
        ids runless messages are stored under."""
        runs = select(executions.c.execution_id).where(
            executions.c.organization_id == organization_id,
            executions.c.campaign_id.in_(list(campaign_ids)),
            executions.c.created_at <= until,
            or_(
                executions.c.completed_at.is_(None),
                executions.c.completed_at >= since - LATE_SEND,
            ),
        )
        return runs.union_all(*(select(bindparam(f"no_run_{i}", r)) for i, r in enumerate(_NO_RUN)))


def _touch(row: Any) -> Touch:
    message = message_from_row(row)
    return Touch(
        message_id=message.message_id,
        campaign_id=message.campaign_id,
        execution_id=message.execution_id,
        variant_id=message.variant_id,
        channel=message.channel.value,
        status=message.status,
        sent_at=message.sent_at,
        segment_id=message.segment_id,
    )


def _row(credit: Credit, at: datetime) -> dict[str, Any]:
    return {
        "organization_id": credit.organization_id,
        "user_id": credit.user_id,
        "event_id": credit.event_id,
        "campaign_id": credit.campaign_id,
        "message_id": credit.message_id,
        "execution_id": credit.execution_id,
        "variant_id": credit.variant_id,
        "channel": credit.channel,
        "holdout": credit.holdout,
        "value_share": credit.value_share,
        "converted_at": credit.converted_at,
        "recorded_at": at,
    }
