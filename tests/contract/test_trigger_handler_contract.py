"""Triggered campaigns through the one intake, on SQLite and Postgres: a matching event fires
once, a duplicate never twice, one event fires several campaigns, and every skip is recorded with
its reason (domain.events.triggers, docs/triggers.md)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from adapters.embedded.rate_limiter import MemoryRateLimiter
from adapters.sql.audience.source import SqlAudienceSource
from adapters.sql.audience.stores import SqlContactDirectory, SqlSegmentStore
from adapters.sql.audience.suppressions import SqlSuppressionStore
from adapters.sql.unit_of_work import SqlStore
from domain.audience.contacts import Contact
from domain.audience.model import Audience, Condition, ConditionOperator, SegmentType, Suppression
from domain.campaigns.campaign import Campaign
from domain.campaigns.model import (
    CampaignStatus,
    QuietHours,
    Throttle,
    Trigger,
    Variant,
)
from domain.events.intake import EventIntake
from domain.events.model import InboundEvent, Outcome
from domain.events.trigger_model import TriggerEvaluation, Verdict
from domain.events.trigger_release import FULL_RESCAN, TriggerRelease
from domain.events.triggers import TriggerHandler
from domain.execution.frequency_cap import MarketingCap, MarketingCaps
from domain.execution.model import TRIGGERED_EXECUTION, Message, MessageStatus, message_id
from domain.kernel.channels import Channel
from tests.contract.builders import ORG, OTHER_ORG, T0, FixedClock
from tests.contract.conftest import SQL, sql_engine
from tests.contract.trigger_builders import order, set_status, triggered
from tests.support.metric_recount import mismatches


@dataclass
class World:
    store: SqlStore
    intake: EventIntake
    release: TriggerRelease
    contacts: SqlContactDirectory
    suppressions: SqlSuppressionStore
    clock: FixedClock

    async def add_campaign(self, campaign: Campaign) -> None:
        async with self.store.unit_of_work() as uow:
            await uow.campaigns.add(campaign)
            await uow.commit()

    async def take(self, event: InboundEvent) -> Outcome:
        return (await self.intake.take(event)).outcome

    async def evaluations(
        self, *, campaign_id: str = "", user_id: str = ""
    ) -> list[TriggerEvaluation]:
        async with self.store.unit_of_work(read_only=True) as uow:
            found, _ = await uow.triggers.list(
                ORG, campaign_id=campaign_id, user_id=user_id, limit=100
            )
        return list(found)

    async def messages(self, campaign_id: str) -> Sequence[Message]:
        async with self.store.unit_of_work(read_only=True) as uow:
            found, _ = await uow.messages.list(ORG, campaign_id, limit=100)
        return found


@pytest.fixture(params=SQL)
async def world(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[World]:
    async with sql_engine(request.param, tmp_path, migrated=True) as engine:
        clock = FixedClock()
        store = SqlStore(engine)
        segments = SqlSegmentStore(engine, clock=clock)
        suppressions = SqlSuppressionStore(engine, clock=clock)
        limiter = MemoryRateLimiter()
        handler = TriggerHandler(SqlAudienceSource(engine, segments), clock)
        world = World(
            store,
            EventIntake(store.unit_of_work, [handler], clock),
            TriggerRelease(store.unit_of_work, limiter, clock),
            SqlContactDirectory(engine, clock=clock),
            suppressions,
            clock,
        )
        await world.contacts.upsert(
            ORG,
            [
                Contact(
                    "u1",
                    email="u1@example.com",
                    email_opted_in=True,
                    attributes={"first_name": "Ada", "plan": "pro"},
                ),
                Contact(
                    "u2", email="u2@example.com", email_opted_in=True, attributes={"plan": "free"}
                ),
                Contact("u3", email="", attributes={"plan": "pro"}),
            ],
        )
        yield world
        # Every firing and held-out firing was counted (docs/metrics.md).
        assert await mismatches(engine) == []
        await store.close()


def cond(field: str, operator: str, value: Any = None) -> Condition:
    return Condition(field, ConditionOperator(operator), value)


async def test_a_matching_event_fires_one_message_once(world: World) -> None:
    await world.add_campaign(
        triggered("c1", Trigger("order.completed", "t1", (cond("total", "greater_than", 50),)))
    )

    assert await world.take(order("e1", total=80)) is Outcome.ACCEPTED
    assert await world.take(order("e1", total=80)) is Outcome.DUPLICATE

    [held] = await world.messages("c1")
    expected_id = message_id(f"{TRIGGERED_EXECUTION}:c1:e1", "u1", Channel.EMAIL)
    assert (held.message_id, held.user_id, held.execution_id) == (
        expected_id,
        "u1",
        TRIGGERED_EXECUTION,
    )
    assert (held.status, held.held, held.send_after) == (MessageStatus.DEFERRED, True, T0)
    assert held.content["subject"] == "Hi Ada"
    # Its throttle slot comes from the release, outside the intake's transaction.
    assert await world.release.run_once() == 1
    [slotted] = await world.messages("c1")
    assert not slotted.held
    assert slotted.send_after >= T0
    [evaluation] = await world.evaluations(campaign_id="c1")
    assert (evaluation.outcome, evaluation.message_ids, evaluation.trigger_id) == (
        Verdict.FIRED,
        (expected_id,),
        "t1",
    )


async def test_one_event_fires_every_matching_campaign_on_its_own(world: World) -> None:
    await world.add_campaign(triggered("c1"))
    await world.add_campaign(triggered("c2"))
    await world.add_campaign(triggered("c3", Trigger("user.created", "t1")))
    await world.add_campaign(triggered("c4", status=CampaignStatus.PAUSED))
    await world.add_campaign(triggered("c5", organization_id=OTHER_ORG))

    await world.take(order("e1"))

    assert [len(await world.messages(c)) for c in ("c1", "c2", "c3", "c4")] == [1, 1, 0, 0]
    assert sorted(e.campaign_id for e in await world.evaluations(user_id="u1")) == ["c1", "c2"]


async def test_every_skip_is_recorded_with_its_reason(world: World) -> None:
    await world.suppressions.add(ORG, [Suppression(user_id="u2")])
    pro = Audience("pro", SegmentType.INCLUDE, query=(cond("plan", "equals", "pro"),))
    await world.add_campaign(
        triggered(
            "cond",
            Trigger(
                "order.completed",
                "t1",
                (cond("cart.sku", "equals", "A1"), cond("total", "greater_than", 50)),
            ),
        )
    )
    await world.add_campaign(triggered("aud", audiences=(pro,)))
    await world.add_campaign(triggered("hold", holdout_percentage=100.0))
    await world.add_campaign(
        triggered(
            "ctl",
            variants=(Variant("ctl", "Control", 100.0, is_control=True),),
        )
    )

    await world.take(order("e1", cart={"sku": "A1"}, total=10))  # u1
    await world.take(order("e2", user_id="u2", cart={"sku": "A1"}, total=99))  # u2 suppressed
    await world.take(order("e3", user_id="u3", cart={"sku": "A1"}, total=99))  # no address
    await world.take(order("e4", user_id=""))

    def outcomes(found: Sequence[TriggerEvaluation]) -> dict[tuple[str, str], tuple[Verdict, str]]:
        return {(e.campaign_id, e.event_id): (e.outcome, e.reason) for e in found}

    got = outcomes(await world.evaluations())
    assert got[("cond", "e1")] == (
        Verdict.CONDITIONS_NOT_MET,
        "conditions[1]: total greater_than 50",
    )
    assert got[("aud", "e1")][0] is Verdict.FIRED
    assert got[("hold", "e1")][0] is Verdict.HOLDOUT
    held_out = sum(1 for (c, _), (v, _) in got.items() if c == "hold" and v is Verdict.HOLDOUT)
    async with world.store.unit_of_work(read_only=True) as uow:  # each held-out firing counts
        assert (await uow.metrics.read(ORG, "hold", None, ())).totals.holdout == held_out >= 1
    assert got[("ctl", "e1")][0] is Verdict.CONTROL
    assert got[("aud", "e2")][0] is Verdict.NOT_IN_AUDIENCE  # u2 is on the free plan
    assert got[("cond", "e2")][0] is Verdict.SUPPRESSED
    assert got[("cond", "e3")][0] is Verdict.UNREACHABLE
    assert {got[(c, "e4")][0] for c in ("cond", "aud", "hold", "ctl")} == {Verdict.NO_USER}
    assert [m.user_id for m in await world.messages("aud")] == ["u1"]
    for campaign_id in ("cond", "hold", "ctl"):
        assert await world.messages(campaign_id) == []


async def test_the_frequency_limit_counts_firings_in_the_window(world: World) -> None:
    await world.add_campaign(
        triggered(
            "c1",
            Trigger(
                "order.completed", "t1", frequency_limit=2, frequency_window=timedelta(hours=1)
            ),
        )
    )

    for n in range(3):
        await world.take(order(f"e{n}"))
    world.clock.advance(timedelta(hours=1, seconds=1))
    await world.take(order("e9"))

    found = {e.event_id: e for e in await world.evaluations(campaign_id="c1")}
    assert [found[f"e{n}"].outcome for n in (0, 1, 2, 9)] == [
        Verdict.FIRED,
        Verdict.FIRED,
        Verdict.FREQUENCY_LIMIT,
        Verdict.FIRED,
    ]
    assert "the limit is 2" in found["e2"].reason
    assert len(await world.messages("c1")) == 3


async def test_a_batch_decides_as_its_events_one_by_one_would(world: World) -> None:
    """One transaction for many events (NATS batches): membership read once per campaign, yet
    each event is decided in order, a firing earlier in the batch counting against the
    frequency limit of a later one."""
    await world.add_campaign(
        triggered("c1", Trigger("order.completed", "t1", (cond("store", "equals", "a"),)))
    )
    await world.add_campaign(
        triggered(
            "c2",
            Trigger("order.completed", "t1", frequency_limit=2),
            audiences=(
                Audience("pro", SegmentType.INCLUDE, query=(cond("plan", "equals", "pro"),)),
            ),
        )
    )
    batch = [
        order("b1", "u1", store="a"),
        order("b2", "u1", store="a"),
        order("b3", "u2", store="a"),
        order("b4", "u1", store="b"),
        order("b5", "nobody", store="a"),
        order("b6", "u2", store="b"),
    ]

    taken = await world.intake.take_batch(batch)

    assert [t.outcome for t in taken] == [Outcome.ACCEPTED] * len(batch)
    verdicts = {(e.campaign_id, e.event_id): e.outcome for e in await world.evaluations()}
    F, L, C, A = (
        Verdict.FIRED,
        Verdict.FREQUENCY_LIMIT,
        Verdict.CONDITIONS_NOT_MET,
        Verdict.NOT_IN_AUDIENCE,
    )
    assert verdicts == {
        ("c1", "b1"): F, ("c1", "b2"): L, ("c1", "b3"): F, ("c1", "b4"): C,
        ("c1", "b5"): A, ("c1", "b6"): C,
        ("c2", "b1"): F, ("c2", "b2"): F, ("c2", "b3"): A, ("c2", "b4"): L,
        ("c2", "b5"): A, ("c2", "b6"): A,
    }  # fmt: skip
    assert sorted(m.user_id for m in await world.messages("c1")) == ["u1", "u2"]
    assert len(await world.messages("c2")) == 2


async def test_a_delayed_trigger_is_held_until_its_time_then_released_once(world: World) -> None:
    await world.add_campaign(
        triggered("c1", Trigger("order.completed", "t1", delay=timedelta(minutes=5)))
    )

    await world.take(order("e1"))
    [held] = await world.messages("c1")
    assert (held.status, held.held, held.send_after) == (
        MessageStatus.DEFERRED,
        True,
        T0 + timedelta(minutes=5),
    )
    assert await world.release.run_once() == 0  # not yet due

    world.clock.advance(timedelta(minutes=5))
    assert await world.release.run_once() == 1
    assert await world.release.run_once() == 0  # released once
    [released] = await world.messages("c1")
    assert (released.status, released.held) == (MessageStatus.DEFERRED, False)
    assert released.send_after >= T0 + timedelta(minutes=5)


async def test_quiet_hours_defer_a_firing(world: World) -> None:
    night = Throttle(quiet_hours=QuietHours(enabled=True))  # 21:00-08:00 in the user's zone (UTC)
    await world.add_campaign(triggered("c1", throttle=night))
    world.clock.current = T0.replace(hour=23)

    await world.take(order("e1"))

    [evaluation] = await world.evaluations(campaign_id="c1")
    [message] = await world.messages("c1")
    assert evaluation.outcome is Verdict.DEFERRED
    assert message.held
    assert message.send_after == (T0 + timedelta(days=1)).replace(hour=8)


async def test_evaluations_page_newest_first_by_campaign_and_by_user(world: World) -> None:
    await world.add_campaign(triggered("c1", Trigger("order.completed", "t1", frequency_limit=100)))
    for n in range(5):
        world.clock.advance(timedelta(seconds=1))
        await world.take(order(f"e{n}", user_id="u1" if n % 2 == 0 else "u2"))

    async with world.store.unit_of_work(read_only=True) as uow:
        first, token = await uow.triggers.list(ORG, campaign_id="c1", limit=2)
        second, token2 = await uow.triggers.list(ORG, campaign_id="c1", after=token, limit=2)
        third, end = await uow.triggers.list(ORG, campaign_id="c1", after=token2, limit=2)
        by_user, _ = await uow.triggers.list(ORG, user_id="u2")
        elsewhere, _ = await uow.triggers.list(OTHER_ORG, campaign_id="c1")

    assert [e.event_id for e in [*first, *second, *third]] == ["e4", "e3", "e2", "e1", "e0"]
    assert end == ""
    assert [e.event_id for e in by_user] == ["e3", "e1"]
    assert elsewhere == []


async def test_held_messages_of_a_campaign_cancelled_meanwhile_are_cancelled_when_due(
    world: World,
) -> None:
    campaign = triggered("c1", Trigger("order.completed", "t1", delay=timedelta(minutes=1)))
    await world.add_campaign(campaign)
    await world.take(order("e1"))
    async with world.store.unit_of_work() as uow:
        stored = await uow.campaigns.get(ORG, "c1")
        assert stored is not None
        cancelled = replace(stored, status=CampaignStatus.CANCELLED, version=stored.version + 1)
        await uow.campaigns.save(cancelled, expected_version=stored.version)
        await uow.commit()

    world.clock.advance(timedelta(minutes=1))
    await world.release.run_once()

    [message] = await world.messages("c1")
    assert message.status is MessageStatus.CANCELLED


async def test_cancelling_cancels_every_pending_trigger_message(world: World) -> None:
    await world.add_campaign(
        triggered(
            "c1",
            Trigger("order.completed", "now", (cond("delayed", "not_exists"),), frequency_limit=9),
            Trigger("order.completed", "later", delay=timedelta(hours=1), frequency_limit=9),
        )
    )
    await world.add_campaign(triggered("c2"))
    await world.take(order("e1"))  # queued
    await world.take(order("e2", delayed=True))  # held for an hour

    async with world.store.unit_of_work() as uow:
        cancelled = await uow.runs.cancel_triggered(ORG, "c1", "recalled", T0)
        await uow.commit()

    assert cancelled == 2
    assert {(m.status, m.error) for m in await world.messages("c1")} == {
        (MessageStatus.CANCELLED, "campaign cancelled before this message was sent: recalled")
    }
    [other] = await world.messages("c2")  # another campaign's firing is untouched
    assert other.status is not MessageStatus.CANCELLED


async def test_a_paused_campaigns_held_messages_stay_held_until_it_resumes(world: World) -> None:
    await world.add_campaign(
        triggered("c1", Trigger("order.completed", "t1", delay=timedelta(minutes=1)))
    )
    await world.take(order("e1"))
    await set_status(world.store.unit_of_work, "c1", CampaignStatus.PAUSED)

    world.clock.advance(timedelta(minutes=1))
    assert await world.release.run_once() == 1
    [still] = await world.messages("c1")
    assert still.held
    assert still.send_after == T0 + timedelta(minutes=2)  # looked at again a minute later

    await set_status(world.store.unit_of_work, "c1", CampaignStatus.ACTIVE)
    world.clock.advance(timedelta(minutes=1))
    assert await world.release.run_once() == 1
    [released] = await world.messages("c1")
    assert not released.held


async def test_concurrent_events_fire_exactly_the_limit_and_never_deadlock(world: World) -> None:
    # Two campaigns fired by every event for the same user: each event takes both campaigns'
    # per-user locks, always in the same order.
    for campaign_id in ("c1", "c2"):
        await world.add_campaign(
            triggered(campaign_id, Trigger("order.completed", "t1", frequency_limit=4))
        )

    taken = await asyncio.gather(*(world.take(order(f"e{n}")) for n in range(12)))

    assert set(taken) == {Outcome.ACCEPTED}
    for campaign_id in ("c1", "c2"):
        assert len(await world.messages(campaign_id)) == 4
        found = await world.evaluations(campaign_id=campaign_id)
        assert sorted(e.outcome for e in found).count(Verdict.FREQUENCY_LIMIT) == 8


async def test_the_relay_hands_over_no_trigger_message_of_a_paused_campaign(world: World) -> None:
    await world.add_campaign(triggered("c1"))
    await world.take(order("e1"))
    await world.release.run_once()  # slotted: the relay's from now on
    await set_status(world.store.unit_of_work, "c1", CampaignStatus.PAUSED)
    later = T0 + timedelta(hours=1)

    async with world.store.delivery_outbox().claim_due(later, 100) as paused:
        assert paused.messages == []
    await set_status(world.store.unit_of_work, "c1", CampaignStatus.ACTIVE)
    async with world.store.delivery_outbox().claim_due(later, 100) as resumed:
        assert [m.user_id for m in resumed.messages] == ["u1"]
        assert resumed.messages[0].execution_id == TRIGGERED_EXECUTION


async def test_replicas_releasing_together_claim_disjoint_messages(world: World) -> None:
    await world.add_campaign(
        triggered(
            "c1", Trigger("order.completed", "t1", delay=timedelta(minutes=1), frequency_limit=99)
        )
    )
    for n in range(10):
        await world.take(order(f"e{n}"))
    now = T0 + timedelta(minutes=1)
    until = now + timedelta(seconds=10)

    async def claim(limit: int) -> set[str]:
        async with world.store.unit_of_work() as uow:
            found = await uow.messages.claim_held_due(TRIGGERED_EXECUTION, now, limit, until=until)
            await uow.commit()
        return {h.message_id for h in found}

    async with world.store.unit_of_work() as first_uow:
        first = await first_uow.messages.claim_held_due(TRIGGERED_EXECUTION, now, 5, until=until)
        # A second replica claims while the first has not committed: Postgres skips the rows
        # the first holds; SQLite makes it wait for the first's commit.
        second_claim = asyncio.create_task(claim(10))
        await asyncio.sleep(0.3)
        await first_uow.commit()
    second = await second_claim

    first_ids = {h.message_id for h in first}
    assert len(first_ids) == 5
    assert len(second) == 5
    assert first_ids.isdisjoint(second)
    assert {m.send_after for m in await world.messages("c1")} == {until}  # claimed: still held
    assert all(m.held for m in await world.messages("c1"))
    assert await claim(10) == set()  # nothing due until the claims run out


async def test_the_marketing_cap_holds_a_firing_back_and_counts_trigger_messages(
    world: World,
) -> None:
    """With a cap of 1 per day, a user's first firing goes out; a second campaign's firing for
    the same user is stored SUPPRESSED with the cap as its reason (the first trigger message
    counts against the cap), and the evaluation says marketing_cap."""
    caps = MarketingCaps(lambda _org: MarketingCap(1, timedelta(days=1)))
    handler = TriggerHandler(
        SqlAudienceSource(
            world.store.engine, SqlSegmentStore(world.store.engine, clock=world.clock)
        ),
        world.clock,
        marketing_caps=caps,
    )
    intake = EventIntake(world.store.unit_of_work, [handler], world.clock)
    await world.add_campaign(triggered("c1"))
    await intake.take(order("e1"))
    await world.add_campaign(triggered("c2"))
    await intake.take(order("e2"))

    [first] = await world.messages("c1")
    assert first.status is MessageStatus.DEFERRED
    [second] = await world.messages("c2")
    assert (second.status, second.error) == (
        MessageStatus.SUPPRESSED,
        "marketing frequency cap: 1 per 24 h",
    )
    got = {(e.campaign_id, e.event_id): e.outcome for e in await world.evaluations()}
    assert got[("c2", "e2")] is Verdict.MARKETING_CAP
    assert got[("c1", "e1")] is Verdict.FIRED


async def test_the_release_looks_from_its_low_water_mark_and_from_the_start_every_rescan(
    world: World,
) -> None:
    """Once a pass found nothing more due, later passes look only from a few seconds before it
    (the index of held rows keeps released rows' entries until vacuumed); a row due before that
    mark (written by a transaction that stayed open longer than the margin) is found by the next
    full rescan, FULL_RESCAN later at most."""
    await world.add_campaign(triggered("c1", Trigger("order.completed", "t1", frequency_limit=99)))
    await world.take(order("first"))
    assert await world.release.run_once() == 1  # the first pass looks from the start

    world.clock.current = T0 - timedelta(minutes=1)  # a row due well before the mark
    await world.take(order("late"))
    world.clock.current = T0 + timedelta(seconds=1)
    assert await world.release.run_once() == 0
    assert sum(m.held for m in await world.messages("c1")) == 1

    world.clock.current = T0 + FULL_RESCAN + timedelta(seconds=1)
    assert await world.release.run_once() == 1
    assert not any(m.held for m in await world.messages("c1"))
