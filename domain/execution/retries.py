"""When a run that failed is tried again, and when it is given up (docs/lifecycle.md).

A run whose attempt raised is not offered to an executor again at once: it waits a delay that
doubles with each consecutive failed attempt, up to a cap, so a run that fails every time (a
bug, a template broken in a way the launch checks could not see) costs the executors one
attempt per delay instead of all their time, and runs of other organizations go first
meanwhile. After `max_attempts` consecutive failures the run fails for good with the last
reason. A dependency that is down (DependencyUnavailableError: the database, the rate limiter,
the broker) is not the run's fault: it is retried at the same delays for as long as it lasts,
never failed for it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from domain.kernel.errors import DependencyUnavailableError

DEFAULT_BASE_DELAY = timedelta(seconds=5)
DEFAULT_MAX_DELAY = timedelta(minutes=5)
DEFAULT_MAX_ATTEMPTS = 8
MAX_REASON = 1000  # characters of a failure's reason kept on the execution


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    base_delay: timedelta = DEFAULT_BASE_DELAY
    max_delay: timedelta = DEFAULT_MAX_DELAY
    max_attempts: int = DEFAULT_MAX_ATTEMPTS

    def delay(self, attempts: int) -> timedelta:
        """The wait after the `attempts`-th consecutive failure (1, 2, ...): base, 2 x base,
        4 x base, ..., never more than max_delay."""
        if attempts < 1:
            return timedelta(0)
        doubled = self.base_delay.total_seconds() * 2.0 ** min(attempts - 1, 64)
        return timedelta(seconds=min(doubled, self.max_delay.total_seconds()))

    def gives_up(self, attempts: int, error: BaseException) -> bool:
        """Whether the run fails for good after `attempts` consecutive failures, the last one
        `error`."""
        return attempts >= self.max_attempts and not isinstance(error, DependencyUnavailableError)


def describe(error: BaseException) -> str:
    """The reason recorded for a failed attempt: the error's type and message, bounded."""
    reason = getattr(error, "reason", None)
    kind = reason if isinstance(reason, str) else type(error).__name__
    text = f"{kind}: {error}" if str(error) else kind
    return text if len(text) <= MAX_REASON else text[: MAX_REASON - 1] + "…"
