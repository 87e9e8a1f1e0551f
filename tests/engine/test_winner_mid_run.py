"""A winner chosen while a run fans out: the batches already written keep their variants, every
later batch sends only the winner (docs/experiments.md)."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Sequence

from domain.audience.model import Audience, Recipient
from domain.execution.model import Message
from tests.engine.conftest import ADMIN, ORG, EngineRig
from tests.engine.scenario import FailingAudience, launch, run_until_idle, seed

BATCH = 100


class WinnerAfterFirstBatch(FailingAudience):
    """The audience source, with an operator choosing `winner` right after the first batch."""

    def __init__(self, engine: EngineRig, campaign_id: str, winner: str) -> None:
        super().__init__(engine.audience, fail_at=0)
        self._engine = engine
        self._campaign_id = campaign_id
        self._winner = winner
        self.first_batch: set[str] = set()

    async def recipients(
        self,
        organization_id: str,
        audiences: Sequence[Audience],
        *,
        after_user_id: str = "",
        batch_size: int = 10_000,
    ) -> AsyncGenerator[Sequence[Recipient], None]:
        n = 0
        async for batch in self._engine.audience.recipients(
            organization_id, audiences, after_user_id=after_user_id, batch_size=batch_size
        ):
            n += 1
            if n == 1:
                self.first_batch = {r.contact.user_id for r in batch}
            if n == 2:
                await self._engine.campaigns.select_winner(ADMIN, self._campaign_id, self._winner)
            yield batch


async def messages_of(engine: EngineRig, campaign_id: str) -> list[Message]:
    out: list[Message] = []
    after = ""
    while True:
        async with engine.store.unit_of_work(read_only=True) as uow:
            page, after = await uow.messages.list(ORG, campaign_id, after=after, limit=500)
        out += page
        if not after:
            return out


async def test_a_winner_chosen_mid_run_takes_the_remaining_batches(engine: EngineRig) -> None:
    await seed(engine, 500)
    campaign = await launch(engine)
    a, b = (v.variant_id for v in campaign.spec.variants)
    audience = WinnerAfterFirstBatch(engine, campaign.campaign_id, b)
    run = engine.executor("w", audience=audience, batch_size=BATCH)  # type: ignore[arg-type]
    while await run.run_once():
        pass
    await run_until_idle(engine)

    messages = await messages_of(engine, campaign.campaign_id)
    before = {m.variant_id for m in messages if m.user_id in audience.first_batch}
    after = [m for m in messages if m.user_id not in audience.first_batch]
    assert audience.first_batch
    assert before == {a, b}  # the first batch was planned before the winner
    assert len(after) > BATCH  # several batches followed it
    assert {m.variant_id for m in after} == {b}
