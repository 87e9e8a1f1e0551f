"""domain.metrics.deltas: what a message change adds to the funnel counters, recomputed from the
message's timestamps alone, so the sum of the deltas of any sequence of reports equals a recount
of the final message."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from domain.audience.model import Audience, SegmentType
from domain.execution.feedback import (
    REPORTABLE,
    STAMPED,
    BounceType,
    Progress,
    Report,
    advance,
    progress_of,
)
from domain.execution.model import Message, MessageStatus
from domain.kernel.channels import Channel
from domain.metrics.deltas import Deltas, hits, progressed, segment_of, written
from domain.metrics.model import Cell, MetricTotals

S = MessageStatus
T0 = datetime(2026, 6, 3, 12, tzinfo=UTC)


def message(n: int = 1, **changes: object) -> Message:
    base = Message(
        message_id=f"m-{n}",
        execution_id="e-1",
        campaign_id="c-1",
        organization_id="org",
        user_id=f"u-{n}",
        variant_id="ab"[n % 2],
        channel=Channel.EMAIL,
        recipient="x@example.com",
        content={},
        send_after=T0,
        queued_at=T0,
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def test_the_segment_is_the_first_include_audience() -> None:
    audiences = [
        Audience("x", SegmentType.EXCLUDE),
        Audience("first", SegmentType.INCLUDE),
        Audience("second", SegmentType.INCLUDE),
    ]
    assert segment_of(audiences) == "first"
    assert segment_of([Audience("x", SegmentType.EXCLUDE)]) == ""


def test_a_written_message_counts_queued_and_every_state_it_was_written_in() -> None:
    assert written(message()) == MetricTotals(queued=1)
    assert written(message(status=S.SUPPRESSED)) == MetricTotals(queued=1)
    assert written(message(status=S.FAILED, failed_at=T0)) == MetricTotals(queued=1, failed=1)


def test_a_change_counts_each_state_newly_reached_once() -> None:
    before = Progress()
    clicked = advance(before, Report(S.CLICKED, T0))
    assert progressed(before, clicked) == MetricTotals(sent=1, delivered=1, opened=1, clicked=1)
    earlier = advance(clicked, Report(S.OPENED, T0 - timedelta(seconds=1)))  # moves opened_at
    assert progressed(clicked, earlier).is_zero
    bounced = advance(clicked, Report(S.BOUNCED, T0, bounce_type=BounceType.HARD))
    assert progressed(clicked, bounced) == MetricTotals(bounced=1)


def test_hits_count_every_open_and_click_but_not_of_a_message_never_handed_over() -> None:
    assert hits(Progress(), Report(S.OPENED, T0)) == MetricTotals(opens_total=1)
    assert hits(Progress(S.OPENED), Report(S.CLICKED, T0)) == MetricTotals(clicks_total=1)
    assert hits(Progress(), Report(S.DELIVERED, T0)).is_zero
    assert hits(Progress(S.SUPPRESSED), Report(S.OPENED, T0)).is_zero


def test_any_report_sequence_adds_up_to_a_recount_of_the_final_message() -> None:
    rng = random.Random(3)
    statuses = sorted(REPORTABLE)
    for _ in range(300):
        current = message()
        deltas = Deltas()
        deltas.add_written([current])
        for _ in range(rng.randrange(8)):
            before = progress_of(current)
            at = T0 + timedelta(seconds=rng.randrange(100))
            after = advance(before, Report(rng.choice(statuses), at))
            deltas.add(
                Cell("org", "c-1", "e-1", current.variant_id, "email"), progressed(before, after)
            )
            current = replace(current, **{f"{s.value}_at": after.at(s) for s in STAMPED})
        [(_cell, totals)] = deltas.take().items()
        expected = MetricTotals(queued=1)
        for s in STAMPED:
            setattr(expected, s.value, int(getattr(current, f"{s.value}_at") is not None))
        assert totals == expected


def test_written_batches_are_counted_per_cell_with_the_campaigns_segment() -> None:
    deltas = Deltas()
    batch = [message(n) for n in range(5)] + [message(9, status=S.FAILED, failed_at=T0)]
    deltas.add_written(batch, {"c-1": "seg"})
    deltas.add_holdout("org", "c-1", "e-1", 3)
    deltas.add_holdout("org", "c-1", "e-1", 0)
    assert deltas.campaigns() == {("org", "c-1")}
    assert deltas.take() == {
        Cell("org", "c-1", "e-1", "a", "email", "seg"): MetricTotals(queued=3),
        Cell("org", "c-1", "e-1", "b", "email", "seg"): MetricTotals(queued=3, failed=1),
        Cell("org", "c-1", "e-1", "", "", ""): MetricTotals(holdout=3),
    }
    assert not deltas
