"""Conversions through the one intake on SQLite and Postgres (domain.events.conversions): the
attribution models on stored messages, the window measured from the event's own instant, no
credit to a bounced message or outside the window, another organization's or a cancelled
campaign's messages never credited, holdout conversions recorded apart, and the same event
again (redelivered, through the other door, or after its ledger row is gone) changing nothing.

One migrated database per backend for the module: each test works in an organization of its
own, with ids of its own (campaign, execution and message ids are global keys)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pytest
import pytest_asyncio
from sqlalchemy import delete, select

from adapters.sql.events.tables import conversions, inbound_events
from adapters.sql.execution.tables import holdout_members
from adapters.sql.unit_of_work import SqlStore
from domain.campaigns.campaign import Campaign
from domain.campaigns.model import (
    AttributionModel,
    CampaignSpec,
    CampaignStatus,
    CampaignType,
    Conversion,
)
from domain.events.conversions import ConversionHandler
from domain.events.feedback import FeedbackHandler
from domain.events.intake import EventIntake
from domain.events.model import Door, InboundEvent, Outcome
from domain.execution.feedback import Report
from domain.execution.model import Execution, ExecutionStatus, Message, MessageStatus
from domain.kernel.channels import Channel
from tests.contract.builders import T0, FixedClock, SequentialIds
from tests.contract.conftest import SQL, open_backend
from tests.contract.steps import pending

pytestmark = pytest.mark.asyncio(loop_scope="module")

S = MessageStatus
DAY = timedelta(days=1)
NOW = T0 + 10 * DAY


@dataclass
class World:
    store: SqlStore
    intake: EventIntake
    clock: FixedClock
    org: str

    @property
    def other_org(self) -> str:
        return f"{self.org}-other"

    def id(self, name: str) -> str:
        return f"{self.org}:{name}"

    async def campaign(
        self,
        name: str,
        model: AttributionModel = AttributionModel.LAST_TOUCH,
        *,
        window: int = 7,
        status: CampaignStatus = CampaignStatus.COMPLETED,
        organization_id: str = "",
    ) -> None:
        """A campaign with a conversion goal on order.completed, and one completed run."""
        spec = CampaignSpec(
            name=name,
            campaign_type=CampaignType.SCHEDULED,
            conversion=Conversion("order.completed", window, model),
        )
        org = organization_id or self.org
        campaign = Campaign(
            campaign_id=self.id(name),
            organization_id=org,
            spec=spec,
            created_by="alice",
            created_at=T0,
            updated_at=T0,
            status=status,
        )
        execution = Execution(
            execution_id=self.id(f"run-{name}"),
            campaign_id=self.id(name),
            organization_id=org,
            status=ExecutionStatus.COMPLETED,
            trigger="manual",
            due_at=T0,
            created_at=T0,
            completed_at=T0 + 5 * DAY,
        )
        async with self.store.unit_of_work() as uow:
            await uow.campaigns.add(campaign)
            await uow.executions.add(execution)
            await uow.commit()

    async def sent(
        self,
        name: str,
        campaign: str,
        sent_at: datetime,
        *,
        user_id: str = "u1",
        channel: Channel = Channel.EMAIL,
        organization_id: str = "",
        then: Report | None = None,
    ) -> None:
        """A message of the campaign's run, handed over at `sent_at` (and `then` reported)."""
        org = organization_id or self.org
        message = Message(
            message_id=self.id(name),
            execution_id=self.id(f"run-{campaign}"),
            campaign_id=self.id(campaign),
            organization_id=org,
            user_id=user_id,
            variant_id="v1",
            channel=channel,
            recipient=f"{user_id}@example.com",
            content={"subject": "hi"},
            send_after=T0,
            queued_at=T0,
        )
        async with self.store.unit_of_work() as uow:
            await uow.messages.add_many([message])
            await uow.messages.apply_report(org, self.id(name), Report(S.SENT, sent_at))
            if then is not None:
                await uow.messages.apply_report(org, self.id(name), then)
            await uow.commit()

    async def held_out(self, campaign: str, user_id: str, at: datetime) -> None:
        for _ in range(2):  # a batch written again changes nothing
            async with self.store.unit_of_work() as uow:
                await uow.holdouts.add(
                    self.org, self.id(campaign), self.id(f"run-{campaign}"), [user_id], at
                )
                await uow.commit()

    async def message(self, name: str, organization_id: str = "") -> Message:
        async with self.store.unit_of_work(read_only=True) as uow:
            found = await uow.messages.get(organization_id or self.org, self.id(name))
        assert found is not None
        return found

    async def credits(self) -> list[tuple[Any, ...]]:
        """(event, campaign, message, holdout, value share, converted_at), ids unprefixed."""
        c = conversions.c
        statement = (
            select(
                c.event_id, c.campaign_id, c.message_id, c.holdout, c.value_share, c.converted_at
            )
            .where(c.organization_id.in_([self.org, self.other_org]))
            .order_by(c.event_id, c.campaign_id, c.message_id)
        )
        async with self.store.engine.connect() as connection:
            rows = await connection.execute(statement)
        prefix = f"{self.org}:"
        return [
            (e, cid.removeprefix(prefix), mid.removeprefix(prefix), h, v, at)
            for e, cid, mid, h, v, at in rows
        ]

    async def take(self, event: InboundEvent) -> Outcome:
        return (await self.intake.take(event)).outcome

    def order(
        self,
        event_id: str,
        at: datetime,
        value: object = 30,
        *,
        user_id: str = "u1",
        door: Door = Door.TRACK_EVENTS,
    ) -> InboundEvent:
        properties = {"value": value}
        return InboundEvent(self.org, event_id, "order.completed", at, user_id, properties, door)


@pytest_asyncio.fixture(scope="module", loop_scope="module", params=SQL)
async def shared_store(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[SqlStore]:
    async with open_backend(request.param, tmp_path_factory.mktemp("conversions")) as backend:
        assert backend.engine is not None
        yield SqlStore(backend.engine)


@pytest_asyncio.fixture(loop_scope="module")
async def world(shared_store: SqlStore) -> World:
    org = f"org-{uuid.uuid4().hex[:8]}"
    clock = FixedClock(NOW)
    ids = SequentialIds(prefix=org)  # outbox event ids are global keys too
    handlers = [FeedbackHandler(ids, clock), ConversionHandler(ids, clock)]
    intake = EventIntake(shared_store.unit_of_work, handlers, clock)
    return World(shared_store, intake, clock, org)


async def test_last_touch_converts_the_latest_message_once_through_both_doors(
    world: World,
) -> None:
    await world.campaign("c1")
    await world.sent("m-old", "c1", T0 + DAY)
    await world.sent("m-new", "c1", T0 + 3 * DAY, channel=Channel.SMS)
    at = T0 + 4 * DAY

    outcomes = [
        await world.take(world.order("o-1", at, 59.9)),
        await world.take(world.order("o-1", at, 59.9)),
        await world.take(world.order("o-1", at, 59.9, door=Door.NATS)),
    ]

    assert outcomes == [Outcome.ACCEPTED, Outcome.DUPLICATE, Outcome.DUPLICATE]
    new, old = await world.message("m-new"), await world.message("m-old")
    assert (new.status, new.converted_at) == (S.CONVERTED, at)
    assert (old.status, old.converted_at) == (S.SENT, None)
    assert await world.credits() == [("o-1", "c1", "m-new", False, 59.9, at)]
    announced = [
        e
        for e in await pending(world.store.outbox_store(), limit=10_000)
        if e.organization_id == world.org and "converted" in e.event_type
    ]
    assert [(e.event_type, e.data["message_id"]) for e in announced] == [
        ("campaign.message.converted", world.id("m-new"))
    ]


async def test_an_event_whose_ledger_row_is_gone_is_not_credited_again(world: World) -> None:
    await world.campaign("c1")
    await world.sent("m-1", "c1", T0 + DAY)
    first = T0 + 2 * DAY
    await world.take(world.order("o-1", first, 10))
    async with world.store.engine.begin() as connection:  # the ledger pruned it
        await connection.execute(
            delete(inbound_events).where(inbound_events.c.organization_id == world.org)
        )

    again = world.order("o-1", first - timedelta(hours=1), 10)
    assert await world.take(again) is Outcome.ACCEPTED

    assert await world.credits() == [("o-1", "c1", "m-1", False, 10.0, first)]
    assert (await world.message("m-1")).converted_at == first


async def test_first_touch_and_linear_split_the_value(world: World) -> None:
    await world.campaign("first", AttributionModel.FIRST_TOUCH)
    await world.campaign("linear", AttributionModel.LINEAR)
    for campaign in ("first", "linear"):
        await world.sent(f"{campaign}-a", campaign, T0 + DAY)
        await world.sent(f"{campaign}-b", campaign, T0 + 2 * DAY)
        await world.sent(f"{campaign}-c", campaign, T0 + 3 * DAY)
    at = T0 + 4 * DAY

    await world.take(world.order("o-1", at, 90))

    assert await world.credits() == [
        ("o-1", "first", "first-a", False, 90.0, at),
        ("o-1", "linear", "linear-a", False, 30.0, at),
        ("o-1", "linear", "linear-b", False, 30.0, at),
        ("o-1", "linear", "linear-c", False, 30.0, at),
    ]
    statuses = [(await world.message(f"first-{x}")).status for x in "abc"]
    assert statuses == [S.CONVERTED, S.SENT, S.SENT]
    assert {(await world.message(f"linear-{x}")).status for x in "abc"} == {S.CONVERTED}


async def test_a_bounced_message_is_not_credited_and_stays_bounced(world: World) -> None:
    await world.campaign("c1")
    await world.sent("m-ok", "c1", T0 + DAY)
    await world.sent("m-bad", "c1", T0 + 2 * DAY, then=Report(S.BOUNCED, T0 + 2 * DAY))

    await world.take(world.order("o-1", T0 + 3 * DAY))

    bad = await world.message("m-bad")
    assert (bad.status, bad.converted_at) == (S.BOUNCED, None)
    assert (await world.message("m-ok")).status is S.CONVERTED
    assert [r[2] for r in await world.credits()] == ["m-ok"]


async def test_nothing_is_credited_outside_the_window_and_a_late_event_uses_its_own_time(
    world: World,
) -> None:
    await world.campaign("c1", window=2)
    await world.sent("m-1", "c1", T0 + DAY)

    # Three days after the message: outside its two-day window, though delivered just now.
    assert await world.take(world.order("o-late", T0 + 4 * DAY)) is Outcome.ACCEPTED
    assert await world.credits() == []
    # Delivered eight days late, it happened a day after the message: inside the window.
    assert await world.take(world.order("o-1", T0 + 2 * DAY)) is Outcome.ACCEPTED
    assert [r[:3] for r in await world.credits()] == [("o-1", "c1", "m-1")]
    # A message sent after the event is never credited for it.
    await world.sent("m-2", "c1", T0 + 2 * DAY + timedelta(hours=12))
    await world.take(world.order("o-2", T0 + 2 * DAY + timedelta(hours=6)))
    assert [r[:3] for r in await world.credits()] == [("o-1", "c1", "m-1"), ("o-2", "c1", "m-1")]
    assert (await world.message("m-2")).status is S.SENT


async def test_other_organizations_cancelled_campaigns_and_other_users_are_not_credited(
    world: World,
) -> None:
    await world.campaign("cancelled", status=CampaignStatus.CANCELLED)
    await world.campaign("theirs", organization_id=world.other_org)
    await world.campaign("mine")
    await world.sent("m-cancelled", "cancelled", T0 + DAY)
    await world.sent("m-theirs", "theirs", T0 + DAY, organization_id=world.other_org)
    await world.sent("m-u2", "mine", T0 + DAY, user_id="u2")

    await world.take(world.order("o-1", T0 + 2 * DAY))

    assert await world.credits() == []
    assert (await world.message("m-theirs", world.other_org)).status is S.SENT
    assert (await world.message("m-cancelled")).status is S.SENT
    assert (await world.message("m-u2")).status is S.SENT


async def test_a_holdout_members_conversions_are_recorded_apart(world: World) -> None:
    await world.campaign("c1")
    await world.held_out("c1", "u9", T0 + DAY)
    first = T0 + 3 * DAY

    await world.take(world.order("o-2", T0 + 4 * DAY, 5, user_id="u9"))
    await world.take(world.order("o-1", first, 20, user_id="u9"))
    await world.take(world.order("o-1", first, 20, user_id="u9", door=Door.NATS))
    await world.take(world.order("o-3", T0 + 9 * DAY, 5, user_id="u9"))  # 8 days after: outside

    assert await world.credits() == [
        ("o-1", "c1", "", True, 20.0, first),
        ("o-2", "c1", "", True, 5.0, T0 + 4 * DAY),
    ]
    h = holdout_members.c
    statement = select(h.user_id, h.execution_id, h.converted_at).where(
        h.organization_id == world.org
    )
    async with world.store.engine.connect() as connection:
        members = [tuple(r) for r in await connection.execute(statement)]
    assert members == [("u9", world.id("run-c1"), first)]  # once; the earliest conversion kept


async def test_a_batch_of_orders_in_one_transaction_credits_each_once(world: World) -> None:
    await world.campaign("c1")
    await world.sent("m-1", "c1", T0 + DAY)
    early, late = T0 + 2 * DAY, T0 + 3 * DAY
    batch = [world.order("o-2", late, 7), world.order("o-1", early, 5), world.order("o-2", late, 7)]

    taken = await world.intake.take_batch(batch)

    assert [t.outcome for t in taken] == [Outcome.ACCEPTED, Outcome.ACCEPTED, Outcome.DUPLICATE]
    assert await world.credits() == [
        ("o-1", "c1", "m-1", False, 5.0, early),
        ("o-2", "c1", "m-1", False, 7.0, late),
    ]
    assert (await world.message("m-1")).converted_at == early  # the earliest conversion's
