"""When to retry an upstream call and how long to wait: bounded, exponential, jittered.

Only failures that a later identical request can fix are retried: connection errors, timeouts,
429 and 502/503/504. A 500 is not retried (it is usually the same bug every time) but still counts
against the circuit breaker. Every call we make is a read (queries and lookups), so repeating one
after an ambiguous failure (a read timeout) is safe.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

RETRYABLE_STATUSES = frozenset({429, 502, 503, 504})


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """`attempts` counts the first try; `base_delay` doubles per retry up to `max_delay`.

    Jitter is "equal jitter": a random delay between half and all of the exponential step, so
    replicas that failed together do not retry together, yet every retry still waits a little.
    A Retry-After up to `retry_after_cap` is obeyed as is; a longer one ends the retries at once,
    since retrying earlier than the upstream asked only earns another refusal.
    """

    attempts: int = 3
    base_delay: float = 0.1
    max_delay: float = 2.0
    retry_after_cap: float = 5.0
    rng: random.Random = field(default_factory=random.Random, compare=False)

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise ValueError("attempts must be >= 1")

    def backoff(self, retry_number: int) -> float:
        """Delay before retry number `retry_number` (1 for the first retry)."""
        step = min(self.max_delay, self.base_delay * 2.0 ** (retry_number - 1))
        return step / 2 + self.rng.uniform(0, step / 2)

    def delay(self, retry_number: int, retry_after: float | None) -> float | None:
        """Seconds to wait before the next attempt, or None when the upstream asked for more
        patience than we have."""
        if retry_after is None:
            return self.backoff(retry_number)
        if retry_after > self.retry_after_cap:
            return None
        return retry_after


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds from a Retry-After header: delta-seconds or an HTTP date (RFC 9110 10.2.3).

    Fractional seconds are accepted although the RFC says integer: being lenient costs nothing.
    Anything unparseable is ignored (None) rather than trusted.
    """
    if not value:
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        try:
            when = parsedate_to_datetime(text)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - (now or datetime.now(UTC))).total_seconds()
    return max(0.0, seconds) if math.isfinite(seconds) else None
