"""The executors' queue on every SQL backend: a released run goes to the back, a run waiting to be
retried is not offered before its time, its attempts and last error are kept, and an
organization with a run in progress lets the others go first."""

from __future__ import annotations

from datetime import timedelta

from domain.campaigns.model import CampaignStatus
from domain.execution.model import Execution, ExecutionStatus
from tests.contract.builders import ORG, OTHER_ORG, T0, campaign
from tests.contract.conftest import Backend
from tests.contract.steps import store

NOW = T0 + timedelta(hours=1)
LEASE = timedelta(seconds=30)


async def add_run(backend: Backend, execution_id: str, organization_id: str, due_minute: int):
    """A running campaign with one execution due `due_minute` minutes after T0."""
    campaign_id = f"c-{execution_id}"
    await store(
        backend.unit_of_work,
        campaign(campaign_id, organization_id=organization_id, status=CampaignStatus.RUNNING),
    )
    due = T0 + timedelta(minutes=due_minute)
    async with backend.unit_of_work() as uow:
        assert await uow.executions.add(  # type: ignore[attr-defined]
            Execution(
                execution_id=execution_id,
                campaign_id=campaign_id,
                organization_id=organization_id,
                status=ExecutionStatus.PENDING,
                trigger="schedule",
                due_at=due,
                created_at=due,
            )
        )
        await uow.commit()


async def lease(backend: Backend, owner: str, now=NOW) -> Execution | None:  # type: ignore[no-untyped-def]
    async with backend.unit_of_work() as uow:
        found = await uow.executions.lease(owner, now, now + LEASE)  # type: ignore[attr-defined]
        await uow.commit()
        return found  # type: ignore[no-any-return]


async def release(backend: Backend, execution_id: str, owner: str, **kwargs) -> None:  # type: ignore[no-untyped-def]
    async with backend.unit_of_work() as uow:
        await uow.executions.release(execution_id, owner, **kwargs)  # type: ignore[attr-defined]
        await uow.commit()


async def test_runs_are_offered_oldest_first_and_a_released_run_goes_to_the_back(
    sql_backend: Backend,
) -> None:
    await add_run(sql_backend, "e-old", ORG, 1)
    await add_run(sql_backend, "e-new", ORG, 2)

    first = await lease(sql_backend, "x")
    assert first is not None
    assert first.execution_id == "e-old"
    await release(sql_backend, "e-old", "x", retry_at=NOW)
    second = await lease(sql_backend, "x")

    assert second is not None
    assert second.execution_id == "e-new"


async def test_a_run_waiting_to_be_retried_is_offered_at_its_time_with_its_attempts(
    sql_backend: Backend,
) -> None:
    await add_run(sql_backend, "e-1", ORG, 1)
    assert await lease(sql_backend, "x") is not None
    retry_at = NOW + timedelta(seconds=20)

    await release(sql_backend, "e-1", "x", retry_at=retry_at, attempts=3, last_error="boom")

    assert await lease(sql_backend, "y", NOW + timedelta(seconds=19)) is None
    again = await lease(sql_backend, "y", retry_at)
    assert again is not None
    assert (again.attempts, again.last_error, again.next_attempt_at) == (3, "boom", retry_at)


async def test_an_organization_with_a_run_in_progress_lets_the_others_go_first(
    sql_backend: Backend,
) -> None:
    await add_run(sql_backend, "a-1", ORG, 1)
    await add_run(sql_backend, "a-2", ORG, 2)
    await add_run(sql_backend, "b-1", OTHER_ORG, 3)

    taken = [await lease(sql_backend, owner) for owner in ("one", "two", "three")]

    assert [e.execution_id if e else None for e in taken] == ["a-1", "b-1", "a-2"]


async def test_progress_saves_keep_the_run_s_place_and_attempts(sql_backend: Backend) -> None:
    await add_run(sql_backend, "e-1", ORG, 1)
    leased = await lease(sql_backend, "x")
    assert leased is not None
    await release(sql_backend, "e-1", "x", retry_at=NOW, attempts=2, last_error="boom")
    leased = await lease(sql_backend, "x", NOW + timedelta(seconds=1))
    assert leased is not None

    leased.cursor, leased.attempts, leased.next_attempt_at = "u-9", 0, T0
    async with sql_backend.unit_of_work() as uow:
        assert await uow.executions.save(leased, owner="x", expected_cursor="")  # type: ignore[attr-defined]
        await uow.commit()
        stored = await uow.executions.get(ORG, "e-1")  # type: ignore[attr-defined]

    assert (stored.cursor, stored.attempts, stored.next_attempt_at) == ("u-9", 2, NOW)
