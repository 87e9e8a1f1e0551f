"""One watcher per watched (campaign, breakdowns): the one task that reads the counters for
every live stream of it, and hands each reading to its subscribers without ever waiting on them.

Why one reader: three hundred dashboards on one campaign must cost one ledger read per change,
not three hundred. Why no waiting: a subscriber is a slot holding only the latest reading (a
bounded buffer of one, older readings overwritten), so a client that stops reading, or a stream
whose connection vanished, holds up nobody and piles nothing up; its own handler picks the
latest reading whenever it is ready again.

The watcher reads when told (a change signal, a new subscriber) but at most once per
`read_interval`, so a burst of signals costs one read; and also every `refresh_interval`
without being told, so a lost signal (or a campaign that ends without a counter moving) only
delays the news. It stops when its last subscriber leaves or the campaign has ended.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from domain.campaigns.model import CampaignStatus
from domain.campaigns.state_machine import FINAL
from domain.metrics.model import Breakdown, CampaignMetrics

WatchKey = tuple[str, str, tuple[Breakdown, ...]]  # organization, campaign, breakdowns


@dataclass(frozen=True, slots=True)
class Reading:
    """One look at the campaign: its status and counters, or why there is none."""

    seq: int
    metrics: CampaignMetrics | None = None
    status: CampaignStatus | None = None  # None with no error: the campaign does not exist
    error: Exception | None = None

    @property
    def final(self) -> bool:
        return self.status in FINAL

    @property
    def gone(self) -> bool:
        return self.error is None and self.status is None

    def same_news_as(self, other: Reading | None) -> bool:
        return other is not None and self.status == other.status and self.metrics == other.metrics


class Subscription:
    """A stream's slot: the latest reading not taken yet (older ones are overwritten)."""

    __slots__ = ("_latest", "_ready", "after_seq", "served")

    def __init__(self, after_seq: int) -> None:
        self.after_seq = after_seq  # its first reading must start after it joined
        self.served = False  # whether it got a reading yet (its snapshot)
        self._latest: Reading | None = None
        self._ready = asyncio.Event()

    def offer(self, reading: Reading) -> None:
        self._latest = reading
        self.served = self.served or reading.error is None
        self._ready.set()

    async def next(self) -> Reading:
        await self._ready.wait()
        self._ready.clear()
        reading, self._latest = self._latest, None
        assert reading is not None  # set together with the event, taken only here
        return reading


StatusReader = Callable[[], Awaitable[CampaignStatus | None]]
MetricsReader = Callable[[], Awaitable[CampaignMetrics]]


@dataclass(frozen=True, slots=True)
class WatchTiming:
    read_interval: float = 0.1  # the shortest min_interval a stream may ask for
    # The re-read without a signal: how late a lost signal, or the end of a campaign (which moves
    # no counter), can reach the streams at worst. Two small reads a second per watched campaign.
    refresh_interval: float = 1.0


class Watcher:
    def __init__(
        self,
        key: WatchKey,
        read_status: StatusReader,
        read_metrics: MetricsReader,
        timing: WatchTiming,
        *,
        on_closed: Callable[[Watcher], None],
        on_error: Callable[[Exception], None],
    ) -> None:
        self.key = key
        self.closed = False
        self._subscribers: set[Subscription] = set()
        self._read_status = read_status
        self._read_metrics = read_metrics
        self._timing = timing
        self._on_closed = on_closed
        self._on_error = on_error
        self._wake = asyncio.Event()
        self._seq = 0  # readings started
        self._last: Reading | None = None
        self._task: asyncio.Task[None] | None = None

    @property
    def subscribers(self) -> int:
        return len(self._subscribers)

    def join(self) -> Subscription:
        """A new subscriber; it gets the first reading that starts after this (asked for now,
        shared with everyone who joins before it starts)."""
        subscription = Subscription(after_seq=self._seq)
        self._subscribers.add(subscription)
        self._wake.set()
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name=f"metrics-watcher:{self.key[1]}")
        return subscription

    def leave(self, subscription: Subscription) -> None:
        self._subscribers.discard(subscription)
        if not self._subscribers:
            self.close()

    def wake(self) -> None:
        """The counters changed: read again (no sooner than read_interval after the last)."""
        self._wake.set()

    def end(self, error: Exception) -> None:
        """End every subscriber's stream with `error`, and stop."""
        for subscription in self._subscribers:
            subscription.offer(Reading(self._seq, error=error))
        self.close()

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        self._on_closed(self)
        task = self._task
        if task is not None and task is not asyncio.current_task() and not task.done():
            task.cancel()

    async def _run(self) -> None:
        try:
            await self._watch()
        except Exception as exc:  # a bug: end every stream with it rather than leave them hanging
            self._on_error(exc)
            self.end(exc)

    async def _watch(self) -> None:
        while not self.closed:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._timing.refresh_interval):
                    await self._wake.wait()
            self._wake.clear()
            self._seq += 1
            reading = await self._read(self._seq)
            self._publish(reading)
            if reading.final or reading.gone:
                self.close()  # whoever asks next gets a new watcher, and the same end
                return
            await asyncio.sleep(self._timing.read_interval)

    async def _read(self, seq: int) -> Reading:
        """The status first, then the counters: a final reading's counters are at least as
        recent as the end of the campaign."""
        try:
            status = await self._read_status()
            if status is None:
                return Reading(seq)
            return Reading(seq, await self._read_metrics(), status)
        except Exception as exc:  # a failed read is news for who waits for a snapshot only
            self._on_error(exc)
            return Reading(seq, error=exc)

    def _publish(self, reading: Reading) -> None:
        news = not reading.same_news_as(self._last)
        for subscription in self._subscribers:
            if reading.final or reading.gone:
                # The last reading anyone will get here: also for whoever joined while it was
                # being taken (the campaign had ended before they asked anyway).
                subscription.offer(reading)
            elif not subscription.served:
                if reading.seq > subscription.after_seq:
                    subscription.offer(reading)
            elif reading.error is None and news:
                subscription.offer(reading)
        if reading.error is None:
            self._last = reading
