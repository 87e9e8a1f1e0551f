"""A circuit breaker, so a dead upstream costs nothing per call instead of a timeout per call.

closed --N consecutive failures--> open --cool-down--> half-open --probe ok--> closed
                                     ^------------------ probe failed ---------'

Failures are counted per attempt (retries included): the retry loop asks the breaker before every
attempt, so the retries of one call stop as soon as the circuit opens. Half-open lets exactly one
probe through; concurrent calls fail fast until the probe's outcome is known. The breaker is
driven from one event loop, so it needs no lock.
"""

from __future__ import annotations

import enum
import time
from collections.abc import Callable


class CircuitState(enum.StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


class CircuitOpenError(Exception):
    """Raised by `before_call` while calls are refused; `retry_in` is the rest of the cool-down."""

    def __init__(self, retry_in: float) -> None:
        super().__init__(f"circuit open, next probe in {retry_in:.1f}s")
        self.retry_in = retry_in


class CircuitBreaker:
    def __init__(
        self,
        *,
        failure_threshold: int = 5,
        reset_timeout: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if failure_threshold < 1 or reset_timeout < 0:
            raise ValueError("failure_threshold must be >= 1 and reset_timeout >= 0")
        self._threshold = failure_threshold
        self._reset_timeout = reset_timeout
        self._clock = clock
        self._failures = 0
        self._opened_at = 0.0
        self._state = CircuitState.CLOSED
        self._probe_in_flight = False

    @property
    def state(self) -> CircuitState:
        """The state as a caller would see it now (an expired cool-down reads as half-open)."""
        if self._state is CircuitState.OPEN and self._cool_down_left() <= 0:
            return CircuitState.HALF_OPEN
        return self._state

    def before_call(self) -> None:
        """Admit one attempt or raise CircuitOpenError; every admitted attempt must end in
        exactly one of record_success, record_failure or abandon."""
        if self._state is CircuitState.CLOSED:
            return
        if self._state is CircuitState.OPEN:
            left = self._cool_down_left()
            if left > 0:
                raise CircuitOpenError(left)
            self._state = CircuitState.HALF_OPEN
        if self._probe_in_flight:
            raise CircuitOpenError(0.0)
        self._probe_in_flight = True

    def record_success(self) -> None:
        self._failures = 0
        self._probe_in_flight = False
        self._state = CircuitState.CLOSED

    def record_failure(self) -> None:
        self._failures += 1
        if self._state is CircuitState.HALF_OPEN or self._failures >= self._threshold:
            self._open()

    def abandon(self) -> None:
        """The attempt ended without an outcome (the caller was cancelled): free the probe slot
        so the next caller can probe, instead of the circuit staying half-open forever."""
        self._probe_in_flight = False

    def _open(self) -> None:
        self._state = CircuitState.OPEN
        self._opened_at = self._clock()
        self._probe_in_flight = False

    def _cool_down_left(self) -> float:
        return self._opened_at + self._reset_timeout - self._clock()
