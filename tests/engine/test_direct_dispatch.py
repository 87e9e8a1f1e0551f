"""Direct hand-over (domain.execution.dispatch): the executor publishes a committed batch's due
messages
itself. Each message still reaches delivery exactly once when the publish fails, when the
executor dies between its commit and its mark, and while messages are claimed they read as
queued to clients."""

from __future__ import annotations

import contextlib
from collections import Counter
from collections.abc import Sequence
from datetime import timedelta

from domain.execution.executor import Executor
from domain.execution.model import ExecutionStatus, Message, MessageStatus
from domain.kernel.errors import DependencyUnavailableError
from tests.engine.conftest import ORG, EngineRig
from tests.engine.scenario import (
    all_messages,
    drain,
    expected_recipients,
    launch,
    seed,
)

SIZE = 2_400  # five batches of 500 after filtering


class Killed(BaseException):
    """The process dying: nothing of the executor's error handling runs for it."""


class RecordingPublisher:
    """Delivery that records every message id it is given and can fail on chosen calls."""

    def __init__(self, *, fail_calls: Sequence[int] = (), crash_on: int | None = None) -> None:
        self.published: Counter[str] = Counter()
        self.calls = 0
        self._fail_calls = set(fail_calls)
        self._crash_on = crash_on

    @property
    def handed_over_status(self) -> MessageStatus:
        return MessageStatus.SENT

    async def publish(self, messages: Sequence[Message]) -> None:
        self.calls += 1
        if self.calls == self._crash_on:
            self.published.update(m.message_id for m in messages)  # out, then the process dies
            raise Killed("between the publish and the mark")
        if self.calls in self._fail_calls:
            raise DependencyUnavailableError("broker down")
        self.published.update(m.message_id for m in messages)

    async def handed_over(self, messages: Sequence[Message]) -> None:
        pass


def executor_with(engine: EngineRig, publisher: RecordingPublisher, owner: str = "a") -> Executor:
    return engine.executor(owner, publisher=publisher)


async def statuses(engine: EngineRig, campaign_id: str) -> Counter[str]:
    async with engine.store.unit_of_work(read_only=True) as uow:
        page, _ = await uow.messages.list(ORG, campaign_id, limit=10_000)
    return Counter(m.status.value for m in page)


async def test_due_messages_are_handed_over_by_the_executor_with_nothing_left_for_the_relay(
    engine: EngineRig,
):
    contacts = await seed(engine, SIZE)
    campaign = await launch(engine)
    publisher = RecordingPublisher()

    assert await executor_with(engine, publisher).run_once()

    expected = expected_recipients(contacts, campaign.campaign_id)
    assert sum(publisher.published.values()) == len(expected)
    assert max(publisher.published.values()) == 1
    engine.clock.advance(timedelta(seconds=1))
    assert await drain(engine) == 0  # nothing left queued
    assert await statuses(engine, campaign.campaign_id) == Counter({"sent": len(expected)})


async def test_handed_over_messages_read_as_sent_in_every_read(engine: EngineRig):
    """On SQL a handed-over batch is marked once, not row by row: filters, counts, single reads
    and the hand-over instant must all see it exactly as they see a relayed message."""
    contacts = await seed(engine, SIZE)
    campaign = await launch(engine)
    handed_over_at = engine.clock.now()

    assert await executor_with(engine, RecordingPublisher()).run_once()

    expected = expected_recipients(contacts, campaign.campaign_id)
    async with engine.store.unit_of_work(read_only=True) as uow:
        sent, _ = await uow.messages.list(
            ORG, campaign.campaign_id, statuses=[MessageStatus.SENT], limit=10_000
        )
        queued, _ = await uow.messages.list(
            ORG, campaign.campaign_id, statuses=[MessageStatus.QUEUED], limit=10_000
        )
        one = await uow.messages.get(ORG, sent[0].message_id)
        counts = await uow.messages.status_counts(sent[0].execution_id)
        pending = await uow.messages.any_pending(sent[0].execution_id)
    assert {m.user_id for m in sent} == expected
    assert queued == []
    assert counts == {MessageStatus.SENT: len(expected)}
    assert not pending
    assert one is not None
    assert one.status is MessageStatus.SENT
    assert {m.sent_at for m in sent} == {handed_over_at}
    assert all(m.delivered_at is None for m in sent)


async def test_a_failed_publish_gives_the_claims_to_the_relay_and_stops_direct_hand_over(
    engine: EngineRig,
):
    contacts = await seed(engine, SIZE)
    campaign = await launch(engine)
    publisher = RecordingPublisher(fail_calls=[2])

    await executor_with(engine, publisher).run_once()

    assert publisher.calls == 2  # the first batch went out, the second failed, then no more
    engine.clock.advance(timedelta(seconds=1))  # the last throttle slots come due
    relayed = await drain(engine)
    expected = expected_recipients(contacts, campaign.campaign_id)
    assert relayed == len(expected) - sum(publisher.published.values())
    assert relayed > 0
    messages = await all_messages(engine, campaign.campaign_id)
    assert {u for u, _ in messages} == expected
    direct = set(publisher.published)
    via_relay = {m.message_id for m in engine.delivery.recent}
    assert not direct & via_relay
    assert direct | via_relay == {mid for _, mid in messages}


async def test_a_crash_between_publish_and_mark_is_released_by_the_next_lease_holder(
    engine: EngineRig,
):
    contacts = await seed(engine, SIZE)
    campaign = await launch(engine)
    crashing = RecordingPublisher(crash_on=2)

    with contextlib.suppress(Killed):
        await executor_with(engine, crashing).run_once()
    # What the crash left: claimed rows, which clients see as queued and the relay leaves alone.
    left = await statuses(engine, campaign.campaign_id)
    assert left["queued"] > 0
    assert "dispatching" not in left
    async with engine.store.unit_of_work(read_only=True) as uow:
        queued, _ = await uow.messages.list(
            ORG, campaign.campaign_id, statuses=[MessageStatus.QUEUED], limit=10_000
        )
    assert len(queued) == left["queued"]
    engine.clock.advance(timedelta(seconds=1))
    assert await drain(engine) == 0  # claimed: not the relay's until released

    after = RecordingPublisher()
    await run_until_idle_with(engine, after, campaign.campaign_id)

    expected = expected_recipients(contacts, campaign.campaign_id)
    messages = await all_messages(engine, campaign.campaign_id)
    assert {u for u, _ in messages} == expected
    assert len(messages) == len(expected)
    relayed = {m.message_id for m in engine.delivery.recent}
    # Every message reached delivery; only the crashed batch twice, the second time through
    # the relay with the same id (which the broker's Nats-Msg-Id dedup drops).
    direct = set(crashing.published) | set(after.published)
    assert direct | relayed == {mid for _, mid in messages}
    assert not set(after.published) & (relayed | set(crashing.published))
    # Only the batch in flight at the crash reached delivery twice, the second time through the
    # relay with the same ids (which the broker's Nats-Msg-Id deduplication drops).
    twice = set(crashing.published) & relayed
    assert 0 < len(twice) <= 500
    assert await statuses(engine, campaign.campaign_id) == Counter(
        {"sent": len(messages) - len(relayed), "delivered": len(relayed)}
    )


async def run_until_idle_with(
    engine: EngineRig, publisher: RecordingPublisher, campaign_id: str
) -> None:
    executor = executor_with(engine, publisher, owner="b")
    for _ in range(50):
        worked = await executor.run_once()
        delivered = await drain(engine)
        if not worked and not delivered:
            break
        engine.clock.advance(timedelta(seconds=2))
    async with engine.store.unit_of_work(read_only=True) as uow:
        found, _ = await uow.executions.list(ORG, campaign_id)
    assert all(e.status is ExecutionStatus.COMPLETED for e in found), found


async def test_without_a_publisher_the_executor_leaves_every_message_to_the_relay(
    engine: EngineRig,
):
    contacts = await seed(engine, SIZE)
    campaign = await launch(engine)

    assert await engine.executor("a", direct=False).run_once()
    assert engine.delivery.delivered == 0  # nothing handed over by the executor
    engine.clock.advance(timedelta(seconds=1))

    expected = expected_recipients(contacts, campaign.campaign_id)
    assert await drain(engine) == len(expected)
    assert engine.delivery.delivered == len(expected)
