"""Hits on tracking links through the event intake, on SQLite and Postgres: every open and click
counts in the totals while the message reaches OPENED / CLICKED once and is announced once; an
unsubscribe suppresses and announces once however often it comes; a refused link changes
nothing, not even the totals."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest

from adapters.sql.audience.suppressions import SqlSuppressionStore
from adapters.sql.unit_of_work import SqlStore
from adapters.tracking.links import SignedTrackingLinks
from domain.audience.model import SuppressionReason
from domain.events.feedback import FeedbackHandler
from domain.events.intake import EventIntake
from domain.events.tracking_hits import TrackingHits
from domain.execution.model import MessageStatus
from domain.execution.tracking import Purpose, TrackedLink, link_digest
from domain.kernel.channels import Channel
from domain.metrics.model import Breakdown, MetricTotals
from tests.contract.builders import ORG, OTHER_ORG, T0, FixedClock, SequentialIds
from tests.contract.conftest import Backend
from tests.contract.steps import pending
from tests.contract.test_message_feedback_contract import add, get, message

# SQLite only: the intake, the feedback rule and the suppressions are contract-tested on both
# backends already, and the e2e tests (tests/e2e/test_tracking_http.py) run all of this on
# Postgres; a fresh Postgres database per case would cost seconds each.
pytestmark = pytest.mark.parametrize("sql_backend", ["sqlite"], indirect=True)

KEY = b"k" * 32
SHOP, BLOG = "https://shop.example.com/?a=1&b=2", "https://blog.example.com/"
BODY = f'<p><a href="{SHOP.replace("&", "&amp;")}">shop</a> <a href="{BLOG}">blog</a></p>'


class LedgerTotals:
    """The counters the hits reached, read from the metric ledger itself."""

    def __init__(self, store: SqlStore) -> None:
        self._store = store

    async def read(self) -> tuple[MetricTotals, set[str]]:
        async with self._store.unit_of_work(read_only=True) as uow:
            found = await uow.metrics.read(ORG, "c-1", None, [Breakdown.VARIANT])
        return found.totals, {row.key for row in found.rows}


@dataclasses.dataclass
class Rig:
    store: SqlStore
    hits: TrackingHits
    links: SignedTrackingLinks
    totals: LedgerTotals
    woken: list[str]

    def token(self, purpose: Purpose, link: TrackedLink) -> str:
        return self.links.token(purpose, link)


@pytest.fixture
async def rig(sql_backend: Backend) -> Rig:
    assert sql_backend.engine is not None
    store = SqlStore(sql_backend.engine)
    clock, ids = FixedClock(T0 + timedelta(hours=1)), SequentialIds()
    totals = LedgerTotals(store)
    intake = EventIntake(store.unit_of_work, [FeedbackHandler(ids, clock)], clock)
    links = SignedTrackingLinks([KEY], "https://t.example.com")
    woken: list[str] = []
    hits = TrackingHits(
        intake, links, store.unit_of_work, clock, ids, on_unsubscribed=lambda: woken.append("x")
    )
    await add(store, dataclasses.replace(message(1), content={"html_body": BODY}))
    return Rig(store, hits, links, totals, woken)


def own(index: int = -1, url: str = "") -> TrackedLink:
    return TrackedLink(ORG, "m-1", index, link_digest(url) if url else "")


async def announced(store: SqlStore) -> list[str]:
    return [e.event_type for e in await pending(store.outbox_store())]


async def test_every_hit_counts_in_the_totals_while_the_message_moves_once(rig: Rig) -> None:
    opens = [await rig.hits.open(rig.token(Purpose.OPEN, own())) for _ in range(2)]
    clicks = [
        await rig.hits.click(rig.token(Purpose.CLICK, own(i % 2, (SHOP, BLOG)[i % 2])))
        for i in range(3)
    ]

    assert opens == [True, True]
    assert clicks == [SHOP, BLOG, SHOP]
    totals, variants = await rig.totals.read()
    assert (totals.opens_total, totals.clicks_total) == (2, 3)
    assert variants == {"v"}
    found = await get(rig.store, "m-1")
    assert found.status is MessageStatus.CLICKED
    assert found.opened_at == found.clicked_at == T0 + timedelta(hours=1)
    # Unique: each status announced once, the click with the first link clicked.
    events = await pending(rig.store.outbox_store())
    assert [e.event_type for e in events] == [
        "campaign.message.delivered",
        "campaign.message.opened",
        "campaign.message.clicked",
    ]
    assert events[-1].data["link_url"] == SHOP
    assert events[-1].data["link_id"] == "0"


async def test_a_refused_click_leads_nowhere_and_changes_nothing(rig: Rig) -> None:
    refused = {
        "another url": rig.token(Purpose.CLICK, own(0, "https://evil.example.com/")),
        "index past the links": rig.token(Purpose.CLICK, own(2, SHOP)),
        "open token": rig.token(Purpose.OPEN, own()),
        "unsubscribe token": rig.token(Purpose.UNSUBSCRIBE, own()),
        "altered": rig.token(Purpose.CLICK, own(0, SHOP))[:-1] + "x",
        "key": SignedTrackingLinks([b"r" * 32], "https://t").token(Purpose.CLICK, own(0, SHOP)),
        "stranger": rig.token(Purpose.CLICK, TrackedLink(OTHER_ORG, "m-1", 0, link_digest(SHOP))),
    }

    answers = {case: await rig.hits.click(token) for case, token in refused.items()}

    assert answers == dict.fromkeys(refused)
    assert (await get(rig.store, "m-1")).status is MessageStatus.QUEUED
    assert await announced(rig.store) == []
    totals, _ = await rig.totals.read()
    assert (totals.opens_total, totals.clicks_total) == (0, 0)


async def test_another_organizations_link_or_an_unknown_message_is_refused(rig: Rig) -> None:
    stranger = TrackedLink(OTHER_ORG, "m-1")
    assert not await rig.hits.open(rig.token(Purpose.OPEN, stranger))
    assert not await rig.hits.open(rig.token(Purpose.OPEN, TrackedLink(ORG, "m-404")))
    assert not await rig.hits.unsubscribe(rig.token(Purpose.UNSUBSCRIBE, stranger))
    assert await rig.hits.unsubscribe_target(rig.token(Purpose.UNSUBSCRIBE, stranger)) is None
    assert await announced(rig.store) == []
    totals, _ = await rig.totals.read()
    assert (totals.opens_total, totals.clicks_total) == (0, 0)


async def test_an_unsubscribe_suppresses_and_announces_once(rig: Rig) -> None:
    token = rig.token(Purpose.UNSUBSCRIBE, own())
    target = await rig.hits.unsubscribe_target(token)  # the GET: changes nothing
    assert target is not None
    assert target.recipient == "u1@example.com"
    assert await announced(rig.store) == []

    assert [await rig.hits.unsubscribe(token) for _ in range(2)] == [True, True]

    assert (await get(rig.store, "m-1")).status is MessageStatus.UNSUBSCRIBED
    assert await announced(rig.store) == ["campaign.message.unsubscribed"]
    found, _ = await SqlSuppressionStore(rig.store.engine).list(ORG)
    assert [(s.address, s.channel, s.reason) for s in found] == [
        ("u1@example.com", Channel.EMAIL, SuppressionReason.UNSUBSCRIBED)
    ]
    assert rig.woken == ["x"]  # the relay is woken by the one that took effect
