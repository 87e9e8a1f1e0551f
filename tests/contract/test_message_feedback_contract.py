"""MessageRepository.apply_report on SQLite and Postgres: a report moves a stored message
forward only, in the caller's transaction, on rows the relay or the executor wrote (including
rows still `dispatching` under their batch's handovers row), and concurrent reports of one
message end as the state machine says whatever order they commit in."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from adapters.sql.execution.delivery_outbox import SqlDeliveryBatch
from adapters.sql.unit_of_work import SqlStore
from domain.execution.feedback import BounceType, Progress, Report, advance, progress_of
from domain.execution.model import Message, MessageStatus
from domain.kernel.channels import Channel
from tests.contract.builders import ORG, OTHER_ORG, T0
from tests.contract.conftest import Backend
from tests.support.metric_recount import mismatches

S = MessageStatus
EXECUTION = "e-1"


def at(minutes: int):  # type: ignore[no-untyped-def]
    return T0 + timedelta(minutes=minutes)


def message(number: int, organization_id: str = ORG) -> Message:
    return Message(
        message_id=f"m-{number}",
        execution_id=EXECUTION,
        campaign_id="c-1",
        organization_id=organization_id,
        user_id=f"u-{number:03d}",
        variant_id="v",
        channel=Channel.EMAIL,
        recipient=f"u{number}@example.com",
        content={"subject": "hi"},
        send_after=T0,
        queued_at=T0,
    )


@pytest.fixture
async def store(sql_backend: Backend) -> AsyncIterator[SqlStore]:
    assert sql_backend.engine is not None
    yield SqlStore(sql_backend.engine)
    # Every report and mark counted what it changed, once (docs/metrics.md).
    assert await mismatches(sql_backend.engine) == []


async def add(store: SqlStore, *messages: Message, claimed: bool = False) -> None:
    async with store.unit_of_work() as uow:
        await uow.messages.add_many(messages, claimed=claimed)
        await uow.commit()


async def report(store: SqlStore, message_id: str, sent: Report, organization_id: str = ORG):  # type: ignore[no-untyped-def]
    async with store.unit_of_work() as uow:
        applied = await uow.messages.apply_report(organization_id, message_id, sent)
        await uow.commit()
        return applied


async def get(store: SqlStore, message_id: str) -> Message:
    async with store.unit_of_work(read_only=True) as uow:
        found = await uow.messages.get(ORG, message_id)
    assert found is not None
    return found


async def test_a_report_moves_a_queued_message_and_reads_back(store: SqlStore) -> None:
    await add(store, message(1))

    applied = await report(store, "m-1", Report(S.OPENED, at(3), provider_message_id="p-1"))

    assert applied is not None
    assert applied.changed
    found = await get(store, "m-1")
    assert found.status is S.OPENED
    assert (found.sent_at, found.delivered_at, found.opened_at) == (at(3), at(3), at(3))
    assert found.provider_message_id == "p-1"
    assert found == applied.message


async def test_a_late_or_repeated_report_changes_nothing(store: SqlStore) -> None:
    await add(store, message(1))
    await report(store, "m-1", Report(S.CLICKED, at(3)))

    again = await report(store, "m-1", Report(S.DELIVERED, at(5)))

    assert again is not None
    assert not again.changed
    found = await get(store, "m-1")
    assert (found.status, found.delivered_at, found.clicked_at) == (S.CLICKED, at(3), at(3))


async def test_a_bounce_keeps_its_type_error_and_instant(store: SqlStore) -> None:
    await add(store, message(1))
    await report(store, "m-1", Report(S.DELIVERED, at(1)))
    await report(store, "m-1", Report(S.BOUNCED, at(2), BounceType.HARD, "no such user"))

    found = await get(store, "m-1")

    assert (found.status, found.bounced_at, found.bounce_type) == (S.BOUNCED, at(2), "hard")
    assert (found.error, found.delivered_at) == ("no such user", at(1))


async def test_an_unknown_or_foreign_message_is_not_found(store: SqlStore) -> None:
    await add(store, message(1, organization_id=OTHER_ORG))

    assert await report(store, "m-404", Report(S.DELIVERED, at(1))) is None
    assert await report(store, "m-1", Report(S.DELIVERED, at(1))) is None  # another org's
    async with store.unit_of_work(read_only=True) as uow:
        foreign = await uow.messages.get(OTHER_ORG, "m-1")
    assert foreign is not None
    assert foreign.status is S.QUEUED


async def test_a_handed_over_dispatching_row_takes_its_batch_instant_and_reads_its_own_status(
    store: SqlStore,
) -> None:
    batch = [message(1), message(2)]
    await add(store, *batch, claimed=True)
    async with store.unit_of_work() as uow:
        await uow.messages.mark_claimed(["m-1", "m-2"], S.SENT, at(1))
        await uow.commit()

    await report(store, "m-1", Report(S.DELIVERED, at(4)))

    reported, other = await get(store, "m-1"), await get(store, "m-2")
    assert (reported.status, reported.sent_at, reported.delivered_at) == (S.DELIVERED, at(1), at(4))
    assert (other.status, other.sent_at) == (S.SENT, at(1))
    async with store.unit_of_work() as uow:  # a late release of the batch's claims
        assert await uow.messages.release_claims(EXECUTION) == 0
        await uow.commit()
    assert (await get(store, "m-1")).status is S.DELIVERED


async def test_a_report_before_the_batch_mark_is_not_moved_back_by_the_mark_or_a_release(
    store: SqlStore,
) -> None:
    await add(store, message(1), message(2), message(3), claimed=True)

    await report(store, "m-1", Report(S.DELIVERED, at(2)))
    async with store.unit_of_work() as uow:
        await uow.messages.mark_claimed(["m-1", "m-2", "m-3"], S.SENT, at(5))
        await uow.commit()

    first, second = await get(store, "m-1"), await get(store, "m-2")
    assert (first.status, first.sent_at, first.delivered_at) == (S.DELIVERED, at(2), at(2))
    assert (second.status, second.sent_at) == (S.SENT, at(5))


async def test_a_release_after_a_report_gives_back_only_the_unreported_rows(
    store: SqlStore,
) -> None:
    await add(store, message(1), message(2), claimed=True)
    await report(store, "m-2", Report(S.DELIVERED, at(2)))

    async with store.unit_of_work() as uow:
        released = await uow.messages.release_claims(EXECUTION)
        await uow.commit()

    assert released == 1
    assert [(await get(store, m)).status for m in ("m-1", "m-2")] == [S.QUEUED, S.DELIVERED]


async def test_the_relay_mark_never_moves_a_reported_message_back(store: SqlStore) -> None:
    await add(store, message(1))
    await report(store, "m-1", Report(S.DELIVERED, at(2)))
    stale = message(1)  # as the relay claimed it, before the report

    async with store.engine.connect() as connection:
        await SqlDeliveryBatch([stale], connection).mark_handed_over(S.SENT)
        await connection.commit()

    found = await get(store, "m-1")
    assert (found.status, found.sent_at) == (S.DELIVERED, at(2))


async def test_counts_and_status_filters_see_the_reported_statuses(store: SqlStore) -> None:
    await add(store, message(1), message(2), message(3), message(4), claimed=True)
    async with store.unit_of_work() as uow:
        await uow.messages.mark_claimed(["m-1", "m-2", "m-3", "m-4"], S.SENT, at(1))
        await uow.commit()
    await report(store, "m-1", Report(S.OPENED, at(2)))
    await report(store, "m-2", Report(S.BOUNCED, at(2), BounceType.SOFT))
    await report(store, "m-3", Report(S.DELIVERED, at(2)))

    async with store.unit_of_work(read_only=True) as uow:
        counts = await uow.messages.status_counts(EXECUTION)
        opened, _ = await uow.messages.list(ORG, "c-1", statuses=[S.OPENED, S.BOUNCED])
        sent, _ = await uow.messages.list(ORG, "c-1", statuses=[S.SENT])

    assert counts == {S.OPENED: 1, S.BOUNCED: 1, S.DELIVERED: 1, S.SENT: 1}
    assert [m.message_id for m in opened] == ["m-1", "m-2"]
    assert [m.message_id for m in sent] == ["m-4"]


REPORTS = [
    Report(S.SENT, at(1)),
    Report(S.DELIVERED, at(3)),
    Report(S.OPENED, at(2)),
    Report(S.CLICKED, at(6)),
    Report(S.BOUNCED, at(9), BounceType.SOFT, "mailbox full"),
    Report(S.BOUNCED, at(8), BounceType.HARD, "no such user"),
]


async def test_concurrent_reports_of_one_message_end_as_the_state_machine_says(
    store: SqlStore,
) -> None:
    await add(store, message(1), claimed=True)

    await asyncio.gather(*(report(store, "m-1", r) for r in REPORTS))

    expected = Progress()
    for sent in REPORTS:
        expected = advance(expected, sent)
    assert progress_of(await get(store, "m-1")) == expected
    orders = {_fold(order) for order in itertools.permutations(REPORTS)}
    assert orders == {expected}


def _fold(reports: tuple[Report, ...]) -> Progress:
    progress = Progress()
    for sent in reports:
        progress = advance(progress, sent)
    return progress


async def test_many_reports_apply_in_order_as_one_by_one(store: SqlStore) -> None:
    await add(store, message(1), message(2), claimed=True)
    await add(store, message(3, organization_id=OTHER_ORG))
    reports = [
        (ORG, "m-1", Report(S.OPENED, at(4))),
        (ORG, "m-2", Report(S.DELIVERED, at(2))),
        (ORG, "m-1", Report(S.DELIVERED, at(3))),
        (ORG, "m-3", Report(S.DELIVERED, at(2))),  # another organization's
        (ORG, "m-404", Report(S.DELIVERED, at(2))),
        (ORG, "m-1", Report(S.OPENED, at(5))),
    ]

    async with store.unit_of_work() as uow:
        applied = await uow.messages.apply_reports(reports)
        await uow.commit()

    assert [a is not None and a.changed for a in applied] == [True, True, True, False, False, False]
    assert applied[3] is None
    assert applied[4] is None
    first = await get(store, "m-1")
    assert (first.status, first.delivered_at, first.opened_at) == (S.OPENED, at(3), at(4))
    assert (await get(store, "m-2")).status is S.DELIVERED
