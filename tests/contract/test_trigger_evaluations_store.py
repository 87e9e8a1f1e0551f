"""The evaluations store on SQLite and Postgres: what is written is read back exactly, values
that need escaping in some format included (Postgres writes them by COPY)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest

from adapters.sql.unit_of_work import SqlStore
from domain.events.trigger_model import TriggerEvaluation, Verdict, evaluation_id
from tests.contract.builders import ORG, T0
from tests.contract.conftest import SQL, sql_engine

AWKWARD = ["tab\there", "new\nline", "back\\slash", "cr\rhere", "\\N", "ünïcødé ✓", "a\\tb", ""]


@pytest.fixture(params=SQL)
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[SqlStore]:
    async with sql_engine(request.param, tmp_path, migrated=True) as engine:
        store = SqlStore(engine)
        yield store
        await store.close()


def evaluation(index: int, text: str, message_ids: tuple[str, ...] = ()) -> TriggerEvaluation:
    event_id = f"e-{text}-{index}"
    return TriggerEvaluation(
        organization_id=ORG,
        evaluation_id=evaluation_id("c1", f"t{index}", event_id),
        campaign_id="c1",
        trigger_id=f"t{index}",
        event_id=event_id,
        event_type=f"order.{text}",
        user_id=f"u{text}",
        outcome=Verdict.FIRED if message_ids else Verdict.CONDITIONS_NOT_MET,
        reason=f"conditions[0]: note equals {text}",
        message_ids=message_ids,
        evaluated_at=T0 + timedelta(microseconds=index),
    )


async def test_every_value_comes_back_as_written(store: SqlStore) -> None:
    written = [evaluation(i, text) for i, text in enumerate(AWKWARD)]
    written.append(evaluation(len(AWKWARD), "fired", ("m-1", "m\\2")))
    async with store.unit_of_work() as uow:
        await uow.triggers.add(written)
        await uow.commit()

    async with store.unit_of_work(read_only=True) as uow:
        found, _ = await uow.triggers.list(ORG, campaign_id="c1", limit=100)

    assert sorted(found, key=lambda e: e.evaluated_at) == written
