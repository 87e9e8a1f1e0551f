"""EventService.TrackEvents as a use case, on the embedded SQLite store: each bad event is
reported by index, the good ones are kept, a repeated id is a duplicate, and the organization
is part of the id."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest

from adapters.sql.engine import make_engine, sqlite_url_for
from adapters.sql.migrate import upgrade_to_head
from adapters.sql.unit_of_work import SqlStore
from domain.events.intake import EventIntake, RejectedEventError
from domain.events.model import InboundEvent
from domain.events.ports import EventsUnitOfWork
from domain.events.tracking import EventTracking, RejectedEvent, TrackReport
from domain.kernel.errors import InvalidArgumentError
from server.mappers.events import report_to_proto
from tests.contract.builders import FixedClock

T0 = FixedClock().current


class CountingHandler:
    """Counts effects per (organization, event_id); rejects events typed `poison.*`."""

    def __init__(self) -> None:
        self.effects: list[tuple[str, str]] = []

    def accepts(self, event_type: str) -> bool:
        return True

    async def handle(self, uow: EventsUnitOfWork, event: InboundEvent) -> None:
        if event.event_type.startswith("poison."):
            raise RejectedEventError("this handler cannot use poison events")
        self.effects.append((event.organization_id, event.event_id))


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SqlStore]:
    engine = make_engine(sqlite_url_for(tmp_path))
    await upgrade_to_head(engine)
    opened = SqlStore(engine)
    try:
        yield opened
    finally:
        await opened.close()


@pytest.fixture
def handler() -> CountingHandler:
    return CountingHandler()


@pytest.fixture
def tracking(store: SqlStore, handler: CountingHandler) -> EventTracking:
    clock = FixedClock()
    return EventTracking(EventIntake(store.unit_of_work, [handler], clock), clock)


def tracked(event_id: str, event_type: str = "order.completed", org: str = "org-a", **f: object):
    return InboundEvent(org, event_id, event_type, f.pop("occurred_at", T0), **f)  # type: ignore[arg-type]


async def test_an_empty_batch_is_invalid_argument(tracking: EventTracking):
    with pytest.raises(InvalidArgumentError) as caught:
        await tracking.track([])

    assert [v.field for v in caught.value.violations] == ["events"]


async def test_each_bad_event_is_reported_by_index_and_the_good_ones_are_kept(
    tracking: EventTracking, handler: CountingHandler
):
    report = await tracking.track(
        [
            tracked("e-0"),
            tracked("", "order.completed"),
            tracked("e-2", "Not A Type"),
            tracked("e-3"),
            tracked("e-4", occurred_at=T0 + timedelta(days=2)),
            tracked("e-5", "poison.pill"),
            tracked("e-6", user_id="u" * 129),
        ]
    )

    assert (report.accepted, report.duplicates) == (2, 0)
    assert [(r.index, r.event_id) for r in report.rejected] == [
        (1, ""),
        (2, "e-2"),
        (4, "e-4"),
        (5, "e-5"),
        (6, "e-6"),
    ]
    reasons = [r.reason for r in report.rejected]
    assert reasons[0] == "event_id is required"
    assert reasons[1].startswith("event_type must be a lowercase dotted name")
    assert reasons[2] == "occurred_at is more than a day in the future"
    assert reasons[3] == "this handler cannot use poison events"
    assert reasons[4] == "user_id must be at most 128 characters"
    assert handler.effects == [("org-a", "e-0"), ("org-a", "e-3")]


async def test_a_repeated_event_id_is_a_duplicate_in_one_call_and_across_calls(
    tracking: EventTracking, handler: CountingHandler
):
    first = await tracking.track([tracked("e-1"), tracked("e-1"), tracked("e-2")])
    second = await tracking.track([tracked("e-2"), tracked("e-3")])

    assert (first.accepted, first.duplicates, first.rejected) == (2, 1, [])
    assert (second.accepted, second.duplicates, second.rejected) == (1, 1, [])
    assert handler.effects == [("org-a", "e-1"), ("org-a", "e-2"), ("org-a", "e-3")]


async def test_another_organizations_same_event_id_is_its_own_event(
    tracking: EventTracking, handler: CountingHandler
):
    mine = await tracking.track([tracked("shared-id", org="org-a")])
    theirs = await tracking.track([tracked("shared-id", org="org-b")])

    assert (mine.accepted, theirs.accepted, theirs.duplicates) == (1, 1, 0)
    assert handler.effects == [("org-a", "shared-id"), ("org-b", "shared-id")]


async def test_a_rejected_event_can_be_sent_again_once_fixed(
    tracking: EventTracking, handler: CountingHandler
):
    bad = await tracking.track([tracked("e-1", "poison.pill")])
    fixed = await tracking.track([tracked("e-1")])

    assert (bad.accepted, len(bad.rejected)) == (0, 1)
    assert (fixed.accepted, fixed.duplicates) == (1, 0)  # the rejection recorded nothing


def test_the_report_on_the_wire():
    wire = report_to_proto(
        TrackReport(accepted=3, duplicates=2, rejected=[RejectedEvent(4, "e-4", "why")])
    )

    assert (wire.accepted_count, wire.duplicate_count, wire.rejected_count) == (3, 2, 1)
    assert [(r.index, r.event_id, r.reason) for r in wire.rejected] == [(4, "e-4", "why")]
