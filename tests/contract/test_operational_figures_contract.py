"""The operational figures /metrics samples, read from SQLite and Postgres: messages by channel
and status come from the metric ledger (equal to what the writes counted), executions by status,
the outbox backlog (unpublished events, the oldest's instant) and the delivery backlog (due
queued and deferred messages, the oldest's slot; not those whose slot is still ahead)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import text

from adapters.sql.execution.figures import SqlOperationalFigures, delivery_backlog
from domain.campaigns.model import CampaignStatus
from domain.execution.figures import Backlog
from domain.execution.model import Execution, ExecutionStatus, Message, MessageStatus
from domain.kernel.channels import Channel
from tests.contract.builders import ORG, T0, campaign, event
from tests.contract.conftest import Backend
from tests.contract.steps import record, store

NOW = T0 + timedelta(hours=2)
CAMPAIGN = "c-figures"


def message(
    number: int,
    channel: Channel,
    status: MessageStatus,
    send_after_minutes: int,
    **stamps: object,
) -> Message:
    return Message(
        message_id=f"m-{number}",
        execution_id="e-1",
        campaign_id=CAMPAIGN,
        organization_id=ORG,
        user_id=f"u-{number}",
        variant_id="",
        channel=channel,
        recipient=f"u{number}@example.com",
        content={"subject": "Hi"},
        send_after=NOW + timedelta(minutes=send_after_minutes),
        queued_at=NOW - timedelta(hours=1),
        status=status,
        **stamps,  # type: ignore[arg-type]
    )


async def arrange(backend: Backend) -> None:
    await store(backend.unit_of_work, campaign(CAMPAIGN, status=CampaignStatus.RUNNING))
    async with backend.unit_of_work() as uow:
        for number, status in enumerate(
            (ExecutionStatus.RUNNING, ExecutionStatus.COMPLETED, ExecutionStatus.COMPLETED), 1
        ):
            await uow.executions.add(  # type: ignore[attr-defined]
                Execution(
                    execution_id=f"e-{number}",
                    campaign_id=CAMPAIGN,
                    organization_id=ORG,
                    status=status,
                    trigger="schedule",
                    due_at=T0 + timedelta(minutes=number),
                    created_at=T0,
                )
            )
        sent = {"sent_at": NOW - timedelta(minutes=30)}
        await uow.messages.add_many(  # type: ignore[attr-defined]
            [
                message(1, Channel.EMAIL, MessageStatus.QUEUED, -10),  # due: the oldest
                message(2, Channel.EMAIL, MessageStatus.QUEUED, -5),
                message(3, Channel.EMAIL, MessageStatus.QUEUED, -1),
                message(4, Channel.SMS, MessageStatus.DEFERRED, -2),  # its slot has come
                message(5, Channel.EMAIL, MessageStatus.DEFERRED, 60),  # its slot is ahead
                message(6, Channel.EMAIL, MessageStatus.SENT, -60, **sent),
                message(7, Channel.EMAIL, MessageStatus.SENT, -60, **sent),
            ]
        )
        await uow.commit()
    await record(backend.unit_of_work, event(1), event(2), event(3))
    async with backend.outbox.claim(1) as batch:  # the relay published the first
        await batch.mark_published()


async def test_figures_count_messages_runs_and_both_backlogs(sql_backend: Backend) -> None:
    assert sql_backend.engine is not None
    await arrange(sql_backend)

    figures = await SqlOperationalFigures(sql_backend.engine).read(NOW)

    messages = {key: count for key, count in figures.messages.items() if count}
    assert messages == {
        ("email", "queued"): 6,
        ("email", "sent"): 2,
        ("sms", "queued"): 1,
    }
    assert set(figures.messages) >= {("email", "delivered"), ("sms", "unsubscribed")}
    assert dict(figures.executions) == {"running": 1, "completed": 2}
    assert figures.outbox == Backlog(2, event(2).occurred_at)
    assert figures.delivery == Backlog(4, NOW - timedelta(minutes=10))
    assert figures.delivery.age(NOW) == timedelta(minutes=10)


async def test_an_empty_store_has_no_backlog(sql_backend: Backend) -> None:
    assert sql_backend.engine is not None
    figures = await SqlOperationalFigures(sql_backend.engine).read(NOW)
    assert figures.messages == {}
    assert figures.executions == {}
    assert figures.outbox == Backlog(0, None)
    assert figures.delivery == Backlog(0, None)
    assert figures.delivery.age(NOW) == timedelta(0)


@pytest.mark.postgres
async def test_the_delivery_backlog_is_read_through_the_relays_partial_index(
    postgres_backend: Backend,
) -> None:
    """Never a scan of the messages table: with sequential scans priced out, the plan still
    must be the partial index (a predicate the planner could not match to the index's would
    leave it a sequential scan)."""
    assert postgres_backend.engine is not None
    async with postgres_backend.engine.connect() as connection:
        await connection.execute(text("SET enable_seqscan = off"))
        compiled = delivery_backlog(NOW).compile(
            dialect=connection.dialect, compile_kwargs={"literal_binds": True}
        )
        plan = "\n".join(row[0] for row in await connection.execute(text(f"EXPLAIN {compiled}")))
    assert "ix_messages_due" in plan, plan
    assert "Seq Scan" not in plan, plan
