"""The NATS door on the shared JetStream server and Postgres: durable pull consumers feed the
intake, ack once it returned, redeliver failures (bounded), and park poison messages on the
dead-letter subject with their reason. Each test has its own streams and subject prefix.

The handler here only counts effects: what events do is other code's business; what this door
promises is that each (organization, event_id) takes effect once, whichever way it came.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime

import orjson
import pytest
from nats.js import JetStreamContext
from nats.js.api import StreamConfig
from sqlalchemy import select

from adapters.nats.inbound import (
    DLQ_DELIVERIES_HEADER,
    DLQ_REASON_HEADER,
    DLQ_SUBJECT_HEADER,
    InboundOptions,
    NatsInbound,
    durable_name,
)
from adapters.nats.jetstream import JetStreamLink
from adapters.sql.events.tables import inbound_events
from adapters.sql.unit_of_work import SqlStore
from adapters.system import SystemClock
from domain.events.intake import EventIntake
from domain.events.model import Door, InboundEvent, Outcome
from domain.events.ports import EventsUnitOfWork
from domain.kernel.errors import DependencyUnavailableError
from server.workers.inbound_events import InboundEventsWorker
from tests.integration.nats_support import (
    StreamNames,
    connection,
    delete_stream,
    shared_nats_url,
)
from tests.integration.relay_support import eventually

pytestmark = [pytest.mark.postgres, pytest.mark.nats]

WAIT = 20.0
ORG = "org-inbound"


@dataclass
class CountingHandler:
    """Counts committed-or-not effects per event id; fails the way a test tells it to."""

    effects: Counter[str] = field(default_factory=Counter)
    attempts: Counter[str] = field(default_factory=Counter)
    # event_id -> how many times to fail first, and with what
    failures: dict[str, tuple[int, Callable[[], Exception]]] = field(default_factory=dict)
    # event_id -> a gate the handler waits at (and the moment it got there)
    gates: dict[str, tuple[asyncio.Event, asyncio.Event]] = field(default_factory=dict)

    def accepts(self, event_type: str) -> bool:
        return True

    async def handle(self, uow: EventsUnitOfWork, event: InboundEvent) -> None:
        self.attempts[event.event_id] += 1
        if event.event_id in self.gates:
            gate, arrived = self.gates[event.event_id]
            arrived.set()
            await gate.wait()
        times, error = self.failures.get(event.event_id, (0, RuntimeError))
        if self.attempts[event.event_id] <= times:
            raise error()
        self.effects[event.event_id] += 1


@dataclass
class NatsDoor:
    url: str
    names: StreamNames
    inbound_stream: str
    intake: EventIntake
    handler: CountingHandler
    js: JetStreamContext
    workers: list[InboundEventsWorker]

    async def publish(
        self, subject: str, body: bytes | dict[str, object], msg_id: str | None = None
    ) -> None:
        data = body if isinstance(body, bytes) else orjson.dumps(body)
        headers = {"Nats-Msg-Id": msg_id} if msg_id else None
        await self.js.publish(self.names.prefix + subject, data, headers=headers)

    async def parked(self, count: int) -> list[tuple[str, dict[str, str], dict[str, object]]]:
        """The first `count` dead-letter messages: subject, headers, body."""
        subscription = await self.js.pull_subscribe(
            f"{self.names.prefix}campaign.dlq.>", stream=self.names.stream
        )
        found: list[tuple[str, dict[str, str], dict[str, object]]] = []
        deadline = asyncio.get_running_loop().time() + WAIT
        while len(found) < count and asyncio.get_running_loop().time() < deadline:
            try:
                messages = await subscription.fetch(count - len(found), timeout=1)
            except TimeoutError:
                continue
            for m in messages:
                await m.ack()
                found.append((m.subject, dict(m.headers or {}), orjson.loads(m.data)))
        await subscription.unsubscribe()
        assert len(found) == count, f"expected {count} parked messages, got {found}"
        return found

    async def pending(self, subject: str) -> tuple[int, int]:
        """(not yet delivered, delivered and not acknowledged) of a subject's consumer."""
        stream = await self.js.find_stream_name_by_subject(self.names.prefix + subject)
        info = await self.js.consumer_info(stream, durable_name(self.names.prefix + subject))
        return info.num_pending or 0, info.num_ack_pending or 0


def envelope(event_id: str, org: str = ORG, **data: object) -> dict[str, object]:
    return {
        "event_id": event_id,
        "event_type": "ignored: the subject is the type",
        "source": "order_service",
        "organization_id": org,
        "occurred_at": datetime.now(UTC).isoformat(),
        "data": {"user_id": "u-1", **data},
    }


@asynccontextmanager
async def nats_door(
    sql_store: SqlStore,
    *,
    max_deliver: int = 5,
    upstream: list[str] | None = None,
    batched: bool = True,
) -> AsyncIterator[NatsDoor]:
    """Workers for every subscribed subject, running; `upstream` subjects are captured by a
    stream of another service made before we start. `batched`: fetched batches go to the
    intake's take_batch in chunks, as the server wires them; else one event per take."""
    url, names = shared_nats_url(), StreamNames.fresh()
    inbound_stream = f"{names.stream}_IN"
    upstream_stream = f"{names.stream}_UP"
    handler = CountingHandler()
    intake = EventIntake(sql_store.unit_of_work, [handler], SystemClock())
    async with connection(url) as nc:
        js = nc.jetstream(timeout=5)
        if upstream:
            await js.add_stream(
                StreamConfig(name=upstream_stream, subjects=[names.prefix + s for s in upstream])
            )
        link = JetStreamLink(url, stream=names.stream, subjects=f"{names.prefix}campaign.>")
        inbound = NatsInbound(
            link,
            names.prefix,
            InboundOptions(
                stream=inbound_stream,
                max_deliver=max_deliver,
                retry_delay=0.05,
                fetch_wait=0.2,
                ack_wait=5.0,
            ),
        )
        take_many = intake.take_batch if batched else None
        workers = [InboundEventsWorker(c, intake.take, take_many) for c in inbound.consumers]
        for worker in workers:
            worker.start()
        try:
            # Every consumer exists before the test publishes (our stream delivers from its
            # first message anyway; an upstream stream only what comes after we bound to it).
            async def bound() -> bool:
                try:
                    for consumer in inbound.consumers:
                        stream = await js.find_stream_name_by_subject(consumer.subject)
                        await js.consumer_info(stream, consumer.name)
                except Exception:
                    return False
                return True

            await eventually(bound, within=WAIT, what="every consumer bound")
            yield NatsDoor(url, names, inbound_stream, intake, handler, js, workers)
        finally:
            for worker in workers:
                await worker.stop()
            await inbound.close()
            for stream in (names.stream, inbound_stream, upstream_stream):
                await delete_stream(url, stream)
            assert all(not w.running for w in workers)


async def test_the_same_event_twice_on_nats_and_once_through_the_intake_takes_effect_once(
    sql_store: SqlStore,
):
    async with nats_door(sql_store) as door:
        await door.publish("order.completed", envelope("e-1", value=30), msg_id="copy-1")
        await door.publish("order.completed", envelope("e-1", value=30), msg_id="copy-2")

        async def both_settled() -> bool:
            return door.handler.effects["e-1"] == 1 and await door.pending("order.completed") == (
                0,
                0,
            )

        await eventually(both_settled, within=WAIT, what="both copies acknowledged")
        again = await door.intake.take(
            InboundEvent(ORG, "e-1", "order.completed", datetime.now(UTC), "u-1")
        )

        assert again.outcome is Outcome.DUPLICATE
        assert door.handler.effects == Counter({"e-1": 1})
        assert door.handler.attempts == Counter({"e-1": 1})  # the copy found the id taken


async def test_an_event_tracked_first_is_a_duplicate_when_event_stored_brings_it(
    sql_store: SqlStore,
):
    async with nats_door(sql_store) as door:
        first = await door.intake.take(
            InboundEvent(ORG, "ue-7", "cart.abandoned", datetime.now(UTC), "u-7", {}, Door.SANDBOX)
        )
        stored = {
            "event_id": "ue-7",
            "event_type": "cart.abandoned",
            "user_id": "u-7",
            "properties": {"items": 3},
        }
        await door.publish("event.stored", {**envelope("envelope-id"), "data": stored})

        await eventually(
            lambda: _settled(door, "event.*"), within=WAIT, what="event.stored settled"
        )

        assert first.outcome is Outcome.ACCEPTED
        assert door.handler.effects == Counter({"ue-7": 1})


async def test_the_same_id_in_another_organization_is_another_event(sql_store: SqlStore):
    async with nats_door(sql_store) as door:
        await door.publish("user.created", envelope("same", org="org-one"))
        await door.publish("user.created", envelope("same", org="org-two"))

        await eventually(
            lambda: _effects(door, 2), within=WAIT, what="an effect in each organization"
        )
        await eventually(lambda: _settled(door, "user.>"), within=WAIT, what="acks")

        assert door.handler.effects == Counter({"same": 2})


async def test_poison_messages_are_parked_on_the_dead_letter_subject_with_their_reason(
    sql_store: SqlStore,
):
    async with nats_door(sql_store) as door:
        await door.publish("order.completed", b"{not json")
        await door.publish("user.deleted", envelope("no-org", org=""))
        await door.publish("notification.opened", {**envelope("bad-type"), "occurred_at": "x"})
        await door.publish("order.completed", envelope("fine"))

        parked = sorted(await door.parked(3), key=lambda p: p[0])
        await eventually(lambda: _effects(door, 1), within=WAIT, what="the good event's effect")
        for subject in ("order.completed", "user.>", "notification.opened"):
            await eventually(
                lambda s=subject: _settled(door, s), within=WAIT, what=f"{subject} settled"
            )

        prefix = door.names.prefix
        assert [p[0] for p in parked] == [
            f"{prefix}campaign.dlq.notification.opened",
            f"{prefix}campaign.dlq.order.completed",
            f"{prefix}campaign.dlq.user.deleted",
        ]
        reasons = [p[1][DLQ_REASON_HEADER] for p in parked]
        assert reasons[0].startswith("occurred_at is not an ISO 8601 time")
        assert reasons[1].startswith("not JSON")
        assert reasons[2] == "organization_id is missing"
        assert [p[2]["reason"] for p in parked] == reasons
        assert parked[1][2]["payload"] == "{not json"
        assert parked[2][1][DLQ_SUBJECT_HEADER] == f"{prefix}user.deleted"
        assert door.handler.effects == Counter({"fine": 1})


async def test_a_transient_failure_is_redelivered_and_then_takes_effect_once(sql_store: SqlStore):
    # One event per take: a failing event in a batched chunk is also attempted in the chunk,
    # so the attempt counts below are exact only here (the batched case is the next test).
    async with nats_door(sql_store, max_deliver=5, batched=False) as door:
        door.handler.failures["flaky"] = (2, lambda: RuntimeError("handler hiccup"))
        door.handler.failures["outage"] = (
            7,  # more failures than max_deliver: an outage never parks an event
            lambda: DependencyUnavailableError("the database is unavailable; retry later"),
        )
        await door.publish("subscription.created", envelope("flaky"))
        await door.publish("subscription.created", envelope("outage"))

        await eventually(lambda: _effects(door, 2), within=WAIT, what="both took effect")
        await eventually(lambda: _settled(door, "subscription.*"), within=WAIT, what="acks")

        assert door.handler.effects == Counter({"flaky": 1, "outage": 1})
        assert door.handler.attempts == Counter({"flaky": 3, "outage": 8})


async def test_failing_events_in_a_batch_cost_only_themselves(sql_store: SqlStore):
    """A chunk one of whose events fails is rolled back and taken event by event: the others
    take effect once (the ledger holds each id once), a transient failure takes effect on a
    redelivery, a persistent one is parked after max_deliver deliveries."""
    async with nats_door(sql_store, max_deliver=3) as door:
        door.handler.failures["flaky"] = (1, lambda: RuntimeError("hiccup"))
        door.handler.failures["doomed"] = (99, lambda: ValueError("cannot handle this"))
        good = [f"good-{i}" for i in range(60)]
        bodies = [envelope(e, user_id=f"u-{i}") for i, e in enumerate(good)]
        bodies[20:20] = [envelope("flaky", user_id="u-f"), envelope("doomed", user_id="u-d")]
        await asyncio.gather(*(door.publish("order.completed", b) for b in bodies))

        [(_, headers, _)] = await door.parked(1)
        await eventually(lambda: _settled(door, "order.completed"), within=WAIT, what="acks")

        assert headers[DLQ_REASON_HEADER] == (
            "failed on delivery 3 of 3: ValueError: cannot handle this"
        )
        async with sql_store.engine.connect() as connection:
            recorded = list(
                await connection.scalars(
                    select(inbound_events.c.event_id).where(inbound_events.c.organization_id == ORG)
                )
            )
        assert sorted(recorded) == sorted([*good, "flaky"])


async def test_an_event_failing_on_its_last_allowed_delivery_is_parked(sql_store: SqlStore):
    async with nats_door(sql_store, max_deliver=3, batched=False) as door:
        door.handler.failures["doomed"] = (99, lambda: ValueError("cannot handle this"))
        await door.publish("task.executed", envelope("doomed"))

        [(subject, headers, body)] = await door.parked(1)
        await eventually(lambda: _settled(door, "task.executed"), within=WAIT, what="termed")

        assert subject == f"{door.names.prefix}campaign.dlq.task.executed"
        assert (
            headers[DLQ_REASON_HEADER]
            == "failed on delivery 3 of 3: ValueError: cannot handle this"
        )
        assert headers[DLQ_DELIVERIES_HEADER] == "3"
        assert body["deliveries"] == 3
        assert door.handler.attempts == Counter({"doomed": 3})
        assert door.handler.effects == Counter()


async def test_a_subject_another_stream_captures_is_consumed_from_that_stream(
    sql_store: SqlStore,
):
    async with nats_door(sql_store, upstream=["order.>"]) as door:
        upstream = await door.js.find_stream_name_by_subject(door.names.prefix + "order.completed")
        own = await door.js.stream_info(door.inbound_stream)

        await door.publish("order.completed", envelope("from-upstream"))
        await eventually(lambda: _effects(door, 1), within=WAIT, what="the effect")

        assert upstream == f"{door.names.stream}_UP"
        assert door.names.prefix + "order.completed" not in (own.config.subjects or [])
        assert door.names.prefix + "user.>" in (own.config.subjects or [])
        assert door.handler.effects == Counter({"from-upstream": 1})


async def test_a_burst_is_taken_once_each_and_every_message_acknowledged(sql_store: SqlStore):
    async with nats_door(sql_store) as door:
        ids = [f"burst-{i}" for i in range(300)]
        for i, event_id in enumerate(ids):
            await door.publish("order.completed", envelope(event_id, user_id=f"u-{i % 7}"))

        await eventually(lambda: _effects(door, len(ids)), within=WAIT, what="every effect")
        await eventually(lambda: _settled(door, "order.completed"), within=WAIT, what="acks")

        assert door.handler.effects == Counter(dict.fromkeys(ids, 1))


async def test_a_stop_lets_the_batch_in_hand_settle_and_leaves_no_task(sql_store: SqlStore):
    async with nats_door(sql_store) as door:
        gate, arrived = asyncio.Event(), asyncio.Event()
        door.handler.gates["slow"] = (gate, arrived)
        await door.publish("order.completed", envelope("slow"))
        await asyncio.wait_for(arrived.wait(), WAIT)

        stopping = asyncio.gather(*(w.stop() for w in door.workers))
        await asyncio.sleep(0.3)
        gate.set()
        await asyncio.wait_for(stopping, WAIT)

        assert door.handler.effects == Counter({"slow": 1})
        assert await _settled(door, "order.completed")  # acked before the stop returned
        assert all(not w.running for w in door.workers)
        leftover = [
            t.get_name()
            for t in asyncio.all_tasks()
            if t.get_name().startswith("campaign-in-") and not t.done()
        ]
        assert leftover == []


async def _effects(door: NatsDoor, count: int) -> bool:
    return sum(door.handler.effects.values()) >= count


async def _settled(door: NatsDoor, subject: str) -> bool:
    return await door.pending(subject) == (0, 0)
