"""MetricLedger on SQLite and Postgres (the in-memory ledger too, for the port's part): deltas
add up per cell whatever shard they land on, a read sums a campaign's (or one execution's) cells
with its breakdowns, never another organization's or campaign's, and a unit of work adds its
writers' deltas only when it commits. A batch's hand-over mark racing reports of the same batch
counts each message's `sent` once (on Postgres, where they really run at once)."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta

import pytest
import pytest_asyncio

from adapters.memory.metric_ledger import MemoryMetricLedger
from adapters.sql.metrics.ledger import SqlMetricLedger
from adapters.sql.unit_of_work import SqlStore
from domain.execution.feedback import Report
from domain.execution.model import Message, MessageStatus
from domain.kernel.channels import Channel
from domain.metrics.model import Breakdown, CampaignMetrics, Cell, MetricTotals
from tests.contract.builders import ORG, OTHER_ORG, T0
from tests.contract.conftest import SQL, open_backend
from tests.support.metric_recount import mismatches

S = MessageStatus
V, C, G = Breakdown.VARIANT, Breakdown.CHANNEL, Breakdown.SEGMENT
# One database per backend for the module, each test under ids of its own: a fresh Postgres
# database per test would cost more than the tests themselves.
pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest_asyncio.fixture(scope="module", loop_scope="module", params=SQL)
async def store(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[SqlStore]:
    async with open_backend(request.param, tmp_path_factory.mktemp("ledger")) as opened:
        assert opened.engine is not None
        yield SqlStore(opened.engine)


def cell(
    campaign: str,
    variant: str = "a",
    channel: str = "email",
    segment: str = "s1",
    *,
    org: str = ORG,
    execution: str = "e-1",
) -> Cell:
    return Cell(org, campaign, execution, variant, channel, segment)


async def add(
    store: SqlStore, shard: int, deltas: dict[Cell, MetricTotals], minutes: int = 0
) -> None:
    async with store.engine.connect() as connection:
        await SqlMetricLedger(connection, shard=shard).add(deltas, T0 + timedelta(minutes=minutes))
        await connection.commit()


async def read(
    store: SqlStore,
    campaign: str,
    execution: str | None = None,
    breakdowns: tuple[Breakdown, ...] = (),
    org: str = ORG,
) -> CampaignMetrics:
    async with store.unit_of_work(read_only=True) as uow:
        return await uow.metrics.read(org, campaign, execution, list(breakdowns))


Add = Callable[[int, dict[Cell, MetricTotals], int], Awaitable[None]]
Read = Callable[[str, str | None, tuple[Breakdown, ...], str], Awaitable[CampaignMetrics]]


def sql_ledger(store: SqlStore) -> tuple[Add, Read]:
    async def add_to(shard: int, deltas: dict[Cell, MetricTotals], minutes: int) -> None:
        await add(store, shard, deltas, minutes)

    async def read_from(
        campaign: str, execution: str | None, breakdowns: tuple[Breakdown, ...], org: str
    ) -> CampaignMetrics:
        return await read(store, campaign, execution, breakdowns, org)

    return add_to, read_from


def memory_ledger() -> tuple[Add, Read]:
    """The in-memory ledger (experiments' and streams' unit tests use it) must answer the same."""
    ledger = MemoryMetricLedger()

    async def add_to(shard: int, deltas: dict[Cell, MetricTotals], minutes: int) -> None:
        await ledger.add(deltas, T0 + timedelta(minutes=minutes))

    async def read_from(
        campaign: str, execution: str | None, breakdowns: tuple[Breakdown, ...], org: str
    ) -> CampaignMetrics:
        return await ledger.read(org, campaign, execution, list(breakdowns))

    return add_to, read_from


async def sums_with_breakdowns(add_to: Add, read_from: Read) -> None:
    k = "c-sum"
    await add_to(0, {cell(k): MetricTotals(queued=3, sent=2, conversion_value=1.5)}, 0)
    await add_to(5, {cell(k): MetricTotals(queued=1, sent=1, opens_total=4)}, 2)
    await add_to(
        0,
        {
            cell(k, "b", "sms", "s2"): MetricTotals(queued=2, failed=1),
            cell(k, "", "", ""): MetricTotals(holdout=7),
            cell(k, execution="e-2"): MetricTotals(queued=10),
        },
        1,
    )

    found = await read_from(k, None, (V, C, G), ORG)
    assert found.totals == MetricTotals(
        queued=16, sent=3, failed=1, holdout=7, conversion_value=1.5, opens_total=4
    )
    assert found.updated_at == T0 + timedelta(minutes=2)
    rows = {(r.breakdown, r.key): r.totals for r in found.rows}
    assert rows == {
        (V, "a"): MetricTotals(queued=14, sent=3, conversion_value=1.5, opens_total=4),
        (V, "b"): MetricTotals(queued=2, failed=1),
        (V, ""): MetricTotals(holdout=7),
        (C, "email"): MetricTotals(queued=14, sent=3, conversion_value=1.5, opens_total=4),
        (C, "sms"): MetricTotals(queued=2, failed=1),
        (C, ""): MetricTotals(holdout=7),
        (G, "s1"): MetricTotals(queued=14, sent=3, conversion_value=1.5, opens_total=4),
        (G, "s2"): MetricTotals(queued=2, failed=1),
        (G, ""): MetricTotals(holdout=7),
    }
    assert [r.breakdown for r in found.rows] == [V] * 3 + [C] * 3 + [G] * 3  # as asked

    one_run = await read_from(k, "e-1", (V,), ORG)
    assert one_run.totals == MetricTotals(
        queued=6, sent=3, failed=1, holdout=7, conversion_value=1.5, opens_total=4
    )
    assert {r.key for r in one_run.rows} == {"a", "b", ""}


async def scoped_reads(add_to: Add, read_from: Read) -> None:
    await add_to(1, {cell("c-iso"): MetricTotals(queued=1)}, 0)
    await add_to(1, {cell("c-iso", org=OTHER_ORG): MetricTotals(queued=100)}, 0)
    await add_to(1, {cell("c-iso-2"): MetricTotals(queued=1000)}, 0)
    await add_to(2, {cell("c-iso", segment=""): MetricTotals()}, 0)  # zero: nothing written

    assert (await read_from("c-iso", None, (), ORG)).totals.queued == 1
    assert (await read_from("c-iso", None, (), OTHER_ORG)).totals.queued == 100
    nothing = await read_from("c-iso-2", None, (), OTHER_ORG)
    assert nothing.totals.is_zero
    assert nothing.rows == ()
    assert nothing.updated_at is None


async def test_deltas_add_up_across_shards_and_read_with_breakdowns(store: SqlStore) -> None:
    await sums_with_breakdowns(*sql_ledger(store))
    async with store.engine.connect() as connection:  # cell a of e-1: two shards, two rows
        rows_of_a = await connection.exec_driver_sql(
            "SELECT count(*) FROM metric_counters"
            " WHERE campaign_id = 'c-sum' AND execution_id = 'e-1' AND variant_id = 'a'"
        )
        assert rows_of_a.scalar_one() == 2


async def test_reads_are_scoped_to_the_organization_and_the_campaign(store: SqlStore) -> None:
    await scoped_reads(*sql_ledger(store))
    async with store.engine.connect() as connection:
        count = await connection.exec_driver_sql(
            f"SELECT count(*) FROM metric_counters WHERE organization_id = '{ORG}'"
            " AND campaign_id = 'c-iso'"
        )
        assert count.scalar_one() == 1


async def test_the_memory_ledger_answers_as_the_sql_one() -> None:
    await sums_with_breakdowns(*memory_ledger())
    await scoped_reads(*memory_ledger())


def message(org: str, n: int, execution: str = "e-1") -> Message:
    return Message(
        message_id=f"{org}-m-{n:04d}",
        execution_id=execution,
        campaign_id="c-1",
        organization_id=org,
        user_id=f"u-{n:04d}",
        variant_id="ab"[n % 2],
        channel=Channel.EMAIL,
        recipient=f"u{n}@example.com",
        content={"subject": "hi"},
        send_after=T0,
        queued_at=T0,
    )


async def test_a_unit_of_work_counts_its_writes_only_when_it_commits(store: SqlStore) -> None:
    org = "org-uow"
    async with store.unit_of_work() as uow:
        await uow.messages.add_many([message(org, 1), message(org, 2)])  # rolled back
    async with store.unit_of_work() as uow:
        await uow.messages.add_many([message(org, 1), message(org, 2), message(org, 3)])
        await uow.messages.record_holdouts(org, "c-1", "e-1", 2)
        await uow.commit()

    found = await read(store, "c-1", None, (V,), org=org)
    assert (found.totals.queued, found.totals.holdout) == (3, 2)
    assert {r.key: r.totals.queued for r in found.rows} == {"": 0, "a": 1, "b": 2}
    assert await mismatches(store.engine, org) == []


async def test_a_batch_mark_racing_reports_and_a_release_counts_each_message_once(
    store: SqlStore,
) -> None:
    """Reports of a claimed batch's messages commit before, during and after the mark of the
    batch, from several connections, while another executor releases the batch's claims (it
    took the run over): the mark counts only the rows no report took first, and nothing when
    the release won."""
    org, rng = "org-race", random.Random(7)

    async def release(execution_id: str) -> None:
        await asyncio.sleep(rng.random() * 0.02)
        async with store.unit_of_work() as uow:
            await uow.messages.release_claims(execution_id)
            await uow.commit()

    async def mark(ids: list[str]) -> None:
        await asyncio.sleep(rng.random() * 0.02)
        async with store.unit_of_work() as uow:
            await uow.messages.mark_claimed(ids, S.SENT, T0)
            await uow.commit()

    async def reports(chosen: list[Message]) -> None:
        for m in chosen:
            async with store.unit_of_work() as uow:
                report = Report(S.DELIVERED, T0 + timedelta(seconds=1))
                await uow.messages.apply_reports([(org, m.message_id, report)])
                await uow.commit()

    for round_ in range(6):
        first = round_ * 100
        batch = [message(org, n, execution=f"e-{round_}") for n in range(first, first + 40)]
        async with store.unit_of_work() as uow:
            await uow.messages.add_many(batch, claimed=True)
            await uow.commit()
        picked = rng.sample(batch, 24)
        ids = [m.message_id for m in batch]
        racers = [mark(ids), reports(picked[:12]), reports(picked[12:])]
        if round_ % 2:
            racers.append(release(f"e-{round_}"))
        await asyncio.gather(*racers)
        assert await mismatches(store.engine, org) == []
