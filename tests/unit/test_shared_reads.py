"""SharedReads: identical reads asked together share one statement, never one asked before them."""

from __future__ import annotations

import asyncio

import pytest

from adapters.sql.campaigns import shared_reads
from adapters.sql.campaigns.shared_reads import SharedReads
from domain.kernel.errors import DependencyUnavailableError


class Statements:
    """A stand-in statement: counts its runs, answers the run's number, may be held open."""

    def __init__(self) -> None:
        self.runs = 0
        self.gate = asyncio.Event()
        self.gate.set()
        self.started = asyncio.Event()

    async def run(self) -> int:
        self.runs += 1
        number = self.runs
        self.started.set()
        await self.gate.wait()
        return number


async def settle() -> None:
    for _ in range(20):
        await asyncio.sleep(0)


async def crowd(shared: SharedReads[int], statements: Statements, key: str = "k") -> None:
    """One read running while three more are asked: the key is crowded afterwards."""
    statements.gate.clear()
    first = asyncio.ensure_future(shared.read(key, statements.run))
    await statements.started.wait()
    others = [asyncio.ensure_future(shared.read(key, statements.run)) for _ in range(3)]
    await settle()
    statements.gate.set()
    await asyncio.gather(first, *others)


async def test_reads_one_after_another_never_wait() -> None:
    shared: SharedReads[int] = SharedReads(gather_s=60)
    statements = Statements()

    answers = [await asyncio.wait_for(shared.read("k", statements.run), 10) for _ in range(5)]

    assert answers == [1, 2, 3, 4, 5]
    assert not shared.crowded("k")


async def test_reads_asked_while_one_runs_share_the_next_statement() -> None:
    shared: SharedReads[int] = SharedReads(gather_s=60)
    statements = Statements()
    statements.gate.clear()
    first = asyncio.ensure_future(shared.read("k", statements.run))
    await statements.started.wait()

    others = [asyncio.ensure_future(shared.read("k", statements.run)) for _ in range(3)]
    await settle()
    statements.gate.set()

    # The first statement had started before they asked: they get the next one's answer.
    assert await asyncio.gather(first, *others) == [1, 2, 2, 2]
    assert shared.statements == 2
    assert shared.crowded("k")


async def test_a_crowded_key_gathers_reads_before_its_statement() -> None:
    shared: SharedReads[int] = SharedReads(gather_s=60)
    statements = Statements()
    await crowd(shared, statements)
    before = statements.runs

    waiting = [asyncio.ensure_future(shared.read("k", statements.run)) for _ in range(2)]
    await settle()

    assert statements.runs == before  # gathering, not reading
    assert not any(w.done() for w in waiting)
    for w in waiting:
        w.cancel()


async def test_gathered_reads_share_one_statement_and_a_lone_one_ends_the_crowd() -> None:
    shared: SharedReads[int] = SharedReads(gather_s=0.01)
    statements = Statements()
    await crowd(shared, statements)

    together = await asyncio.gather(*(shared.read("k", statements.run) for _ in range(4)))
    assert len(set(together)) == 1  # one statement answered all four
    assert shared.crowded("k")

    await shared.read("k", statements.run)  # waited for company, in vain

    assert not shared.crowded("k")


async def test_other_keys_never_share() -> None:
    shared: SharedReads[int] = SharedReads(gather_s=60)
    statements = Statements()
    statements.gate.clear()
    first = asyncio.ensure_future(shared.read("org-a", statements.run))
    await statements.started.wait()

    other = asyncio.ensure_future(shared.read("org-b", statements.run))
    await settle()

    assert statements.runs == 2  # not queued behind org-a's statement
    statements.gate.set()
    assert sorted(await asyncio.gather(first, other)) == [1, 2]


async def test_a_failed_statement_fails_each_sharer_with_an_error_of_its_own() -> None:
    shared: SharedReads[int] = SharedReads(gather_s=60)
    gate = asyncio.Event()
    started = asyncio.Event()
    runs = 0

    async def failing() -> int:
        nonlocal runs
        runs += 1
        started.set()
        await gate.wait()
        if runs > 1:
            raise DependencyUnavailableError("the database is unavailable; retry later")
        return 1

    first = asyncio.ensure_future(shared.read("k", failing))
    await started.wait()
    others = [asyncio.ensure_future(shared.read("k", failing)) for _ in range(3)]
    await settle()
    gate.set()

    outcomes = await asyncio.gather(first, *others, return_exceptions=True)

    assert outcomes[0] == 1
    assert all(isinstance(o, DependencyUnavailableError) for o in outcomes[1:])
    assert len({id(o) for o in outcomes[1:]}) == 3


async def test_a_caller_that_leaves_does_not_cancel_the_others_statement() -> None:
    shared: SharedReads[int] = SharedReads(gather_s=60)
    statements = Statements()
    statements.gate.clear()
    first = asyncio.ensure_future(shared.read("k", statements.run))
    await statements.started.wait()
    leaving, staying = (asyncio.ensure_future(shared.read("k", statements.run)) for _ in range(2))
    await settle()

    leaving.cancel()
    statements.gate.set()

    assert await staying == 2
    assert await first == 1
    with pytest.raises(asyncio.CancelledError):
        await leaving


async def test_the_crowded_keys_remembered_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(shared_reads, "MAX_CROWDED_KEYS", 3)
    shared: SharedReads[int] = SharedReads(gather_s=60)
    statements = Statements()

    for key in ("a", "b", "c", "d"):
        statements.started.clear()
        await crowd(shared, statements, key)

    assert [shared.crowded(k) for k in ("a", "b", "c", "d")] == [False, True, True, True]
