"""The cross-campaign marketing frequency cap (issue #12 item 4): at most N marketing messages
per user in a rolling window, across every campaign of the organization
(docs/assignment-and-throttling.md).

Marketing means every message of a run or a trigger; SendTransactional messages (receipts,
password resets) are exempt and not counted. A message held back by the cap is stored SUPPRESSED
with the reason `marketing frequency cap: N per W h`, so it shows in the run's counts and in
GetMessage. Off unless configured: a run then pays nothing, not even the query.

Runs ask once per batch (one query for the batch's users); a triggered send asks through the
same `MarketingCaps.allowed`. Two runs planning the same user at the same instant may both see
room for one more: the cap is exact per run and per trigger, best effort across concurrent ones.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol, TypeVar


@dataclass(frozen=True, slots=True)
class MarketingCap:
    limit: int  # messages per user per window; 0 allows none
    window: timedelta

    @property
    def reason(self) -> str:
        hours = self.window.total_seconds() / 3600
        return f"marketing frequency cap: {self.limit} per {hours:g} h"


# The organization's cap, or None (no cap: nothing is counted).
CapPolicy = Callable[[str], MarketingCap | None]


def no_cap(_organization_id: str) -> MarketingCap | None:
    return None


class MarketingCounter(Protocol):
    async def marketing_counts(
        self, organization_id: str, user_ids: Sequence[str], since: datetime
    ) -> dict[str, int]:
        """Per user (absent: none), the marketing messages queued since `since` that count
        against the cap: not transactional, not a fallback of another message, and sent or on
        their way (suppressed, cancelled and never-sent failed ones do not count)."""


class MarketingCaps:
    """The cap as runs and triggers apply it."""

    def __init__(self, policy: CapPolicy = no_cap) -> None:
        self._policy = policy

    def cap_for(self, organization_id: str) -> MarketingCap | None:
        return self._policy(organization_id)

    async def allowed(
        self,
        counter: MarketingCounter,
        organization_id: str,
        user_ids: Iterable[str],
        now: datetime,
    ) -> dict[str, int] | None:
        """Per user, how many more marketing messages may go now; None when the organization
        has no cap (everything may go). `counter` is the unit of work's message repository."""
        cap = self._policy(organization_id)
        if cap is None:
            return None
        users = sorted(set(user_ids))
        sent = await counter.marketing_counts(organization_id, users, now - cap.window)
        return {u: max(cap.limit - sent.get(u, 0), 0) for u in users}


P = TypeVar("P")


def split_by_allowance(
    planned: Sequence[P], user_of: Callable[[P], str], allowance: dict[str, int]
) -> tuple[list[P], list[P]]:
    """(kept, capped): per user, the first `allowance[user]` of their planned messages (in the
    campaign's channel order) are kept, the rest are capped."""
    left = dict(allowance)
    kept: list[P] = []
    capped: list[P] = []
    for item in planned:
        user = user_of(item)
        if left.get(user, 0) > 0:
            left[user] -= 1
            kept.append(item)
        else:
            capped.append(item)
    return kept, capped
