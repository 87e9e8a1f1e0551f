"""The measured part of `metrics-lag`: delivery reports on NATS, metric streams watching them.

Reports go out in phases, one per funnel state (`notification.delivered` for every message of
the campaign, then `notification.opened` for every message, then `notification.clicked`), each
about a message that has not reached that state yet. So every report adds exactly one to its
state's counter, and report j of a phase is in a stream's counters once that counter reached
its initial value + j + 1: the lag of (report, subscriber) is from the report's publish to the
first update of that subscriber's stream that says so. The counters are exact (the ledger is
kept in the report's own transaction), so this is the lag of the whole path: the inbound
consumer, the report's transaction, the change signal, the watcher's read, the stream's pacing.

Publish and receive instants are both this process's monotonic clock.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import grpc
import nats
import numpy as np
import orjson
from campaign.v1 import metrics_service_pb2, metrics_service_pb2_grpc
from google.protobuf import duration_pb2

PHASES = ("delivered", "opened", "clicked")  # the report kinds, in the order they are sent
PUBLISH_MAX_PENDING = 4_000
PUBLISH_TIMEOUT_S = 30.0
SNAPSHOT_TIMEOUT_S = 30.0
POLL_S = 0.1


@dataclass(frozen=True)
class Plan:
    """What to send: `count` reports at `rate` per second about `message_ids`."""

    org: str
    prefix: str
    run_id: str
    message_ids: list[str]
    count: int
    rate: float

    def report(self, k: int) -> tuple[str, int, str]:
        """Report k: (its phase, its index in the phase, the message it is about)."""
        n = len(self.message_ids)
        return PHASES[k // n], k % n, self.message_ids[k % n]

    def per_phase(self) -> dict[str, int]:
        """How many reports each phase gets."""
        n = len(self.message_ids)
        return {p: max(0, min(n, self.count - i * n)) for i, p in enumerate(PHASES)}


def envelope(plan: Plan, k: int) -> tuple[str, bytes, str]:
    """(subject, body, event id) of report k, as the notification service publishes it
    (docs/inbound-events.md: the envelope, and the delivery report's `data`)."""
    phase, j, message_id = plan.report(k)
    now = datetime.now(UTC).isoformat()
    event_id = f"bench-{plan.run_id}-{phase}-{j}"
    data: dict[str, Any] = {
        "message_id": message_id,
        "notification_id": f"n-{plan.run_id}-{j}",
        "provider_message_id": f"p-{plan.run_id}-{j}",
        "status": phase,
        "bounce_type": "",
        "error": "",
        "link_url": "https://example.test/offer" if phase == "clicked" else "",
        "occurred_at": now,
    }
    body = {
        "event_id": event_id,
        "event_type": f"notification.{phase}",
        "source": "notification_service",
        "organization_id": plan.org,
        "occurred_at": now,
        "data": data,
    }
    return f"{plan.prefix}notification.{phase}", orjson.dumps(body), event_id


@dataclass
class Subscriber:
    """One stream's updates: receive instant and the phases' counters."""

    times: list[float] = field(default_factory=list)
    counts: list[tuple[int, ...]] = field(default_factory=list)
    snapshot: asyncio.Event = field(default_factory=asyncio.Event)
    error: BaseException | None = None

    def covers(self, totals: tuple[int, ...]) -> bool:
        return bool(self.counts) and all(
            a >= b for a, b in zip(self.counts[-1], totals, strict=True)
        )


def _counts(totals: Any) -> tuple[int, ...]:
    return tuple(int(getattr(totals, p)) for p in PHASES)


async def _follow(
    stub: Any, campaign_id: str, metadata: list[tuple[str, str]], interval_ms: int, sub: Subscriber
) -> None:
    request = metrics_service_pb2.StreamCampaignMetricsRequest(
        campaign_id=campaign_id,
        min_interval=duration_pb2.Duration(nanos=interval_ms * 1_000_000),
    )
    try:
        async for update in stub.StreamCampaignMetrics(request, metadata=metadata):
            sub.times.append(time.monotonic())
            sub.counts.append(_counts(update.totals))
            sub.snapshot.set()
            if update.final:
                raise RuntimeError("the stream ended: the campaign completed or was cancelled")
    except asyncio.CancelledError:
        raise
    except BaseException as exc:  # recorded; the drive reports it
        sub.error = exc
        sub.snapshot.set()


@dataclass
class Timeline:
    published: np.ndarray  # monotonic publish instant of each report
    subscribers: list[Subscriber]
    initial: tuple[int, ...]
    first_publish: float
    last_publish: float


async def drive(
    address: str,
    token: str,
    campaign_id: str,
    plan: Plan,
    *,
    subscribers: int,
    interval_ms: int,
    drain_s: float,
    log: Callable[[str], None],
) -> Timeline:
    """Open the streams, wait for their snapshots, publish the reports at the plan's rate, wait
    until every stream shows them all (or `drain_s` passed), close the streams."""
    metadata = [("authorization", f"Bearer {token}")]
    subs = [Subscriber() for _ in range(subscribers)]
    nc = await nats.connect("nats://127.0.0.1:4222", connect_timeout=5)
    async with grpc.aio.insecure_channel(address) as channel:
        stub = metrics_service_pb2_grpc.MetricsServiceStub(channel)
        tasks = [
            asyncio.create_task(_follow(stub, campaign_id, metadata, interval_ms, s)) for s in subs
        ]
        try:
            await asyncio.wait_for(
                asyncio.gather(*(s.snapshot.wait() for s in subs)), SNAPSHOT_TIMEOUT_S
            )
            _raise_errors(subs)
            start = _initial(subs)
            log(f"{subscribers} streams open; initial {dict(zip(PHASES, start, strict=True))}")
            js = nc.jetstream(
                timeout=PUBLISH_TIMEOUT_S, publish_async_max_pending=PUBLISH_MAX_PENDING
            )
            await _captured(js, f"{plan.prefix}notification.delivered")
            published = await _publish(js, plan)
            per_phase = plan.per_phase()
            final = tuple(start[i] + per_phase[p] for i, p in enumerate(PHASES))
            deadline = time.monotonic() + drain_s
            while not all(s.covers(final) for s in subs) and time.monotonic() < deadline:
                _raise_errors(subs)
                await asyncio.sleep(POLL_S)
            _raise_errors(subs)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await nc.close()
    return Timeline(published, subs, start, float(published[0]), float(published[-1]))


def _initial(subs: list[Subscriber]) -> tuple[int, ...]:
    """The counters every snapshot showed: the campaign is idle before the reports, so all
    streams must agree (else a report's threshold would be ambiguous)."""
    seen = {s.counts[-1] for s in subs}
    if len(seen) != 1:
        raise RuntimeError(f"the streams' snapshots disagree before any report: {seen}")
    return seen.pop()


def _raise_errors(subs: list[Subscriber]) -> None:
    for s in subs:
        if s.error is not None:
            raise RuntimeError(f"a metrics stream failed: {s.error!r}") from s.error


async def _publish(js: Any, plan: Plan) -> np.ndarray:
    """Every report, evenly spaced at the plan's rate (late ones at once); publish instants."""
    published = np.zeros(plan.count)
    acks = []
    started = time.monotonic()
    for k in range(plan.count):
        delay = started + k / plan.rate - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        subject, body, event_id = envelope(plan, k)
        published[k] = time.monotonic()
        acks.append(await js.publish_async(subject, body, headers={"Nats-Msg-Id": event_id}))
    await asyncio.wait_for(asyncio.gather(*acks), PUBLISH_TIMEOUT_S)
    return published


async def _captured(js: Any, subject: str) -> None:
    """Wait until the server's inbound consumer made a stream capture `subject`."""
    for _ in range(int(30 / POLL_S)):
        with contextlib.suppress(nats.js.errors.NotFoundError):
            await js.find_stream_name_by_subject(subject)
            return
        await asyncio.sleep(POLL_S)
    raise RuntimeError(f"no stream captures {subject}: is the server consuming inbound events?")


# --- what the timeline says ---------------------------------------------------------------------


@dataclass(frozen=True)
class Lags:
    seconds: np.ndarray  # one per (report, subscriber) pair that was covered
    uncovered: int  # pairs whose report never showed in that stream before the drain ended
    taken: int  # reports the counters show, over all phases
    taken_per_s: float  # taken / (from the first publish to when the final counts first showed)


def lags(plan: Plan, timeline: Timeline) -> Lags:
    per_phase = plan.per_phase()
    out: list[np.ndarray] = []
    uncovered = 0
    offset = 0
    for i, phase in enumerate(PHASES):
        count = per_phase[phase]
        if not count:
            continue
        published = timeline.published[offset : offset + count]
        thresholds = timeline.initial[i] + np.arange(1, count + 1)
        for sub in timeline.subscribers:
            times = np.asarray(sub.times)
            seen = np.maximum.accumulate(np.asarray([c[i] for c in sub.counts]))
            first = np.searchsorted(seen, thresholds, side="left")
            covered = first < len(seen)
            uncovered += int((~covered).sum())
            out.append(times[first[covered]] - published[covered])
        offset += count
    finals = [max(s.counts[-1][i] for s in timeline.subscribers) for i in range(len(PHASES))]
    taken = sum(f - s for f, s in zip(finals, timeline.initial, strict=True))
    reached = [
        t
        for s in timeline.subscribers
        for t, c in zip(s.times, s.counts, strict=True)
        if list(c) == finals
    ]
    rate = taken / (min(reached) - timeline.first_publish) if reached else float("nan")
    return Lags(np.concatenate(out) if out else np.zeros(0), uncovered, taken, rate)


def percentiles_ms(seconds: np.ndarray) -> dict[str, float]:
    if not len(seconds):
        return {"p50_ms": float("nan"), "p99_ms": float("nan"), "max_ms": float("nan")}
    p50, p99 = np.percentile(seconds, [50, 99])
    return {
        "p50_ms": round(float(p50) * 1000, 1),
        "p99_ms": round(float(p99) * 1000, 1),
        "max_ms": round(float(seconds.max()) * 1000, 1),
    }
