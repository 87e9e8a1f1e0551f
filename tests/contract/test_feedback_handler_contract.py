"""Message feedback through the event intake on SQLite and Postgres: a notification report moves
its message, a hard bounce or complaint suppresses the address, every status reached is announced
through the outbox, and the same report again (or one that changes nothing) does nothing."""

from __future__ import annotations

from datetime import timedelta

import pytest

from adapters.sql.audience.suppressions import SqlSuppressionStore
from adapters.sql.unit_of_work import SqlStore
from domain.audience.model import SuppressionReason
from domain.events.feedback import FeedbackHandler
from domain.events.intake import EventIntake
from domain.events.model import Door, InboundEvent, Outcome
from domain.execution.model import MessageStatus
from domain.kernel.channels import Channel
from tests.contract.builders import ORG, OTHER_ORG, T0, FixedClock, SequentialIds
from tests.contract.conftest import Backend
from tests.contract.steps import pending
from tests.contract.test_message_feedback_contract import add, get, message

S = MessageStatus


@pytest.fixture
def store(sql_backend: Backend) -> SqlStore:
    assert sql_backend.engine is not None
    return SqlStore(sql_backend.engine)


@pytest.fixture
def intake(store: SqlStore) -> EventIntake:
    clock = FixedClock(T0 + timedelta(hours=1))
    return EventIntake(store.unit_of_work, [FeedbackHandler(SequentialIds(), clock)], clock)


def notification(
    event_id: str, kind: str, message_id: str = "m-1", organization_id: str = ORG, **data: str
) -> InboundEvent:
    return InboundEvent(
        organization_id=organization_id,
        event_id=event_id,
        event_type=f"notification.{kind}",
        occurred_at=T0 + timedelta(minutes=int(data.pop("minute", "5"))),
        properties={"message_id": message_id, "status": kind, **data},
        door=Door.NATS,
    )


async def suppressions(store: SqlStore):  # type: ignore[no-untyped-def]
    found, _ = await SqlSuppressionStore(store.engine).list(ORG)
    return [(s.address, s.channel, s.reason) for s in found]


async def test_a_hard_bounce_suppresses_the_address_and_is_announced_once(
    store: SqlStore, intake: EventIntake
) -> None:
    await add(store, message(1))
    bounce = notification("n-1", "bounced", bounce_type="hard", error="no such user")

    taken = await intake.take(bounce)
    again = await intake.take(bounce)

    assert (taken.outcome, again.outcome) == (Outcome.ACCEPTED, Outcome.DUPLICATE)
    found = await get(store, "m-1")
    assert (found.status, found.bounce_type, found.error) == (S.BOUNCED, "hard", "no such user")
    assert await suppressions(store) == [
        ("u1@example.com", Channel.EMAIL, SuppressionReason.BOUNCED)
    ]
    events = await pending(store.outbox_store())
    assert [e.event_type for e in events] == ["campaign.message.bounced"]
    assert events[0].data == {
        "campaign_id": "c-1",
        "execution_id": "e-1",
        "message_id": "m-1",
        "user_id": "u-001",
        "channel": "email",
        "bounced_at": (T0 + timedelta(minutes=5)).isoformat(),
        "bounce_type": "hard",
        "reason": "no such user",
    }


async def test_a_complaint_unsubscribes_and_suppresses_a_soft_bounce_does_not(
    store: SqlStore, intake: EventIntake
) -> None:
    await add(store, message(1), message(2))

    await intake.take(notification("n-1", "bounced", "m-2", bounce_type="soft"))
    await intake.take(notification("n-2", "complained", "m-1"))

    assert (await get(store, "m-1")).status is S.UNSUBSCRIBED
    assert (await get(store, "m-2")).status is S.BOUNCED
    assert await suppressions(store) == [
        ("u1@example.com", Channel.EMAIL, SuppressionReason.COMPLAINED)
    ]
    events = await pending(store.outbox_store())
    unsubscribed = [e for e in events if e.event_type == "campaign.message.unsubscribed"]
    assert unsubscribed[0].data["user_id"] == "u-001"


async def test_out_of_order_reports_announce_each_status_once_and_a_late_one_nothing(
    store: SqlStore, intake: EventIntake
) -> None:
    await add(store, message(1))

    await intake.take(
        notification("n-1", "clicked", minute="7", link_url="https://x.example/a", link_id="l-1")
    )
    await intake.take(notification("n-2", "opened", minute="6"))
    await intake.take(notification("n-3", "delivered", minute="5"))

    found = await get(store, "m-1")
    assert found.status is S.CLICKED
    assert (found.delivered_at, found.opened_at, found.clicked_at) == (
        T0 + timedelta(minutes=5),
        T0 + timedelta(minutes=6),
        T0 + timedelta(minutes=7),
    )
    # The click proved delivery and the open: all three were announced by the first report.
    events = await pending(store.outbox_store())
    assert [e.event_type for e in events] == [
        "campaign.message.delivered",
        "campaign.message.opened",
        "campaign.message.clicked",
    ]
    clicked = events[-1].data
    assert (clicked["link_id"], clicked["link_url"]) == ("l-1", "https://x.example/a")


async def test_an_unknown_or_foreign_message_is_rejected_and_leaves_no_trace(
    store: SqlStore, intake: EventIntake
) -> None:
    await add(store, message(1, organization_id=OTHER_ORG))

    unknown = await intake.take(notification("n-1", "delivered", "m-404"))
    foreign = await intake.take(notification("n-2", "bounced", "m-1", bounce_type="hard"))

    assert (unknown.outcome, foreign.outcome) == (Outcome.REJECTED, Outcome.REJECTED)
    assert "no message m-404" in unknown.reason
    assert await pending(store.outbox_store()) == []
    assert await suppressions(store) == []


async def test_a_batch_takes_every_report_in_one_go_and_a_rejected_one_costs_only_itself(
    store: SqlStore, intake: EventIntake
) -> None:
    await add(store, message(1), message(2))
    batch = [
        notification("n-1", "delivered", "m-1"),
        notification("n-2", "delivered", "m-404"),
        notification("n-3", "delivered", "m-2"),
        notification("n-1", "delivered", "m-1"),
    ]

    taken = await intake.take_batch(batch)

    assert [t.outcome for t in taken] == [
        Outcome.ACCEPTED,
        Outcome.REJECTED,
        Outcome.ACCEPTED,
        Outcome.DUPLICATE,
    ]
    assert [(await get(store, m)).status for m in ("m-1", "m-2")] == [S.DELIVERED] * 2
    assert len(await pending(store.outbox_store())) == 2
    assert [t.outcome for t in await intake.take_batch(batch[:1])] == [Outcome.DUPLICATE]


async def test_a_batch_without_rejections_records_each_id_once_and_reports_in_order(
    store: SqlStore, intake: EventIntake
) -> None:
    await add(store, message(1), message(2))
    await intake.take(notification("n-0", "delivered", "m-2", minute="1"))
    batch = [
        notification("n-1", "opened", "m-1", minute="4"),
        notification("n-0", "delivered", "m-2", minute="1"),  # taken before the batch
        notification("n-2", "delivered", "m-1", minute="2"),
        notification("n-1", "opened", "m-1", minute="4"),  # repeated within the batch
        notification("n-3", "bounced", "m-2", minute="3", bounce_type="hard"),
    ]

    taken = await intake.take_batch(batch)

    assert [t.outcome for t in taken] == [
        Outcome.ACCEPTED,
        Outcome.DUPLICATE,
        Outcome.ACCEPTED,
        Outcome.DUPLICATE,
        Outcome.ACCEPTED,
    ]
    first, second = await get(store, "m-1"), await get(store, "m-2")
    assert (first.status, first.delivered_at, first.opened_at) == (
        S.OPENED,
        T0 + timedelta(minutes=2),
        T0 + timedelta(minutes=4),
    )
    assert (second.status, second.bounce_type) == (S.BOUNCED, "hard")
    assert await suppressions(store) == [
        ("u2@example.com", Channel.EMAIL, SuppressionReason.BOUNCED)
    ]
    events = await pending(store.outbox_store())
    assert sorted((e.event_type, e.data["message_id"]) for e in events) == [
        ("campaign.message.bounced", "m-2"),
        ("campaign.message.delivered", "m-1"),
        ("campaign.message.delivered", "m-2"),
        ("campaign.message.opened", "m-1"),
    ]


class _Recorder:
    """A handler of one event type that notes what it handled, and when."""

    def __init__(self, event_type: str, log: list[tuple[str, str]], *, batch: bool) -> None:
        self._type, self._log = event_type, log
        if batch:
            self.handle_many = self._handle_many

    def accepts(self, event_type: str) -> bool:
        return event_type == self._type

    async def handle(self, uow: object, event: InboundEvent) -> None:
        self._log.append((self._type, event.event_id))

    async def _handle_many(self, uow: object, events: list[InboundEvent]) -> None:
        self._log.extend((self._type, e.event_id) for e in events)


async def test_a_batch_keeps_the_order_of_events_that_different_handlers_take(
    store: SqlStore,
) -> None:
    """Handler by handler only within a run of events the same handlers take: a user's
    preferences change before their next trigger event still applies first, as it would with
    one transaction per event."""
    log: list[tuple[str, str]] = []
    clock = FixedClock(T0)
    handlers = [
        _Recorder("user.signed_in", log, batch=True),
        _Recorder("user.preferences.updated", log, batch=False),
    ]
    intake = EventIntake(store.unit_of_work, handlers, clock)  # type: ignore[arg-type]

    def event(event_id: str, event_type: str) -> InboundEvent:
        return InboundEvent(ORG, event_id, event_type, T0, "u1", door=Door.NATS)

    await intake.take_batch(
        [
            event("e1", "user.signed_in"),
            event("e2", "user.signed_in"),
            event("e3", "user.preferences.updated"),
            event("e4", "user.signed_in"),
        ]
    )

    assert log == [
        ("user.signed_in", "e1"),
        ("user.signed_in", "e2"),
        ("user.preferences.updated", "e3"),
        ("user.signed_in", "e4"),
    ]
