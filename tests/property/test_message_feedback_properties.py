"""Properties of the message state machine (domain.execution.feedback): the same set of reports
gives the same message in every arrival order, and no report ever moves a message back."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from domain.execution.feedback import (
    RANK,
    REPORTABLE,
    BounceType,
    Progress,
    Report,
    advance,
)
from domain.execution.model import MessageStatus

T0 = datetime(2026, 6, 3, 12, 0, tzinfo=UTC)

reports = st.builds(
    Report,
    status=st.sampled_from(sorted(REPORTABLE)),
    at=st.integers(min_value=0, max_value=120).map(lambda m: T0 + timedelta(minutes=m)),
    bounce_type=st.sampled_from(list(BounceType)),
    error=st.sampled_from(["", "mailbox full", "no such user"]),
    provider_message_id=st.sampled_from(["", "p-1", "p-2"]),
)
starts = st.sampled_from([MessageStatus.QUEUED, MessageStatus.DEFERRED]).map(
    lambda s: Progress(status=s)
)


def fold(start: Progress, arrived: list[Report]) -> Progress:
    progress = start
    for report in arrived:
        progress = advance(progress, report)
    return progress


@given(start=starts, arrived=st.lists(reports, max_size=5))
@settings(max_examples=200)
def test_every_arrival_order_of_the_same_reports_ends_the_same(
    start: Progress, arrived: list[Report]
) -> None:
    finals = {fold(start, list(order)) for order in itertools.permutations(arrived)}
    assert len(finals) == 1


@given(start=starts, arrived=st.lists(reports, max_size=12), data=st.data())
def test_a_random_order_ends_as_the_reports_in_time_order(
    start: Progress, arrived: list[Report], data: st.DataObject
) -> None:
    shuffled = data.draw(st.permutations(arrived))
    in_time = sorted(arrived, key=lambda r: (r.at, r.status, r.error))
    assert fold(start, shuffled) == fold(start, in_time)


@given(start=starts, arrived=st.lists(reports, max_size=12))
def test_no_report_moves_a_message_back_or_later(start: Progress, arrived: list[Report]) -> None:
    progress = start
    for report in arrived:
        after = advance(progress, report)
        assert RANK[after.status] >= RANK[progress.status]
        for status, at in progress.reached().items():
            reached = after.at(status)
            assert reached is not None
            assert reached <= at
        progress = after


@given(start=starts, arrived=st.lists(reports, min_size=1, max_size=12))
def test_each_status_keeps_the_first_instant_that_proves_it(
    start: Progress, arrived: list[Report]
) -> None:
    final = fold(start, arrived)
    assert final.status == max((r.status for r in arrived), key=RANK.__getitem__)
    for status, at in final.reached().items():
        assert at == min(r.at for r in arrived if status in _proven_by(r.status))


@given(start=starts, arrived=st.lists(reports, max_size=12))
def test_a_report_applied_twice_changes_nothing_more(
    start: Progress, arrived: list[Report]
) -> None:
    once = fold(start, arrived)
    assert fold(once, arrived) == once


def _proven_by(status: MessageStatus) -> set[MessageStatus]:
    """A delivery, open or click proves the statuses before it; a conversion (attributed, not
    observed) and a terminal report prove only the hand-over."""
    progress = [
        MessageStatus.SENT,
        MessageStatus.DELIVERED,
        MessageStatus.OPENED,
        MessageStatus.CLICKED,
    ]
    if status in progress:
        return set(progress[: progress.index(status) + 1])
    return {MessageStatus.SENT, status}
