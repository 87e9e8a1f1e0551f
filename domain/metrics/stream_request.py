"""What a live metrics stream may ask for: how often (min_interval) and which breakdowns.

The bounds protect the process, not the client: a 100 ms floor keeps one stream from costing
more than ten serializations a second however fast its counters move, and the ceiling keeps a
stream from holding a connection that never says anything.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from domain.kernel.errors import FieldViolation, InvalidArgumentError, required
from domain.metrics.model import Breakdown

DEFAULT_MIN_INTERVAL = timedelta(seconds=1)
SHORTEST_MIN_INTERVAL = timedelta(milliseconds=100)
LONGEST_MIN_INTERVAL = timedelta(hours=1)


@dataclass(frozen=True, slots=True)
class StreamRequest:
    campaign_id: str
    min_interval: timedelta
    # Each dimension once, in Breakdown's order: two streams asking for the same set in another
    # order share one watcher (domain.metrics.streams).
    breakdowns: tuple[Breakdown, ...]


def stream_request(
    campaign_id: str,
    min_interval: timedelta | None,
    breakdowns: Sequence[Breakdown | None],
) -> StreamRequest:
    """The checked request; `None` in `breakdowns` is a value the caller could not map (an
    unspecified or unknown enum), reported with its index. InvalidArgumentError lists every
    problem at once."""
    violations: list[FieldViolation] = []
    if not campaign_id:
        violations.append(FieldViolation("campaign_id", "is required"))
    interval = DEFAULT_MIN_INTERVAL if min_interval is None else min_interval
    if interval < SHORTEST_MIN_INTERVAL:
        violations.append(
            FieldViolation("min_interval", "must be at least 100ms (absent = 1 second)")
        )
    elif interval > LONGEST_MIN_INTERVAL:
        violations.append(FieldViolation("min_interval", "must be at most 1 hour"))
    for index, breakdown in enumerate(breakdowns):
        if breakdown is None:
            violations.append(
                FieldViolation(f"breakdowns[{index}]", "must be VARIANT, CHANNEL or SEGMENT")
            )
    if violations:
        raise InvalidArgumentError(violations)
    wanted = {b for b in breakdowns if b is not None}
    return StreamRequest(
        campaign_id=required("campaign_id", campaign_id),
        min_interval=interval,
        breakdowns=tuple(b for b in Breakdown if b in wanted),
    )
