"""Metric change signals across replicas on core NATS: `<prefix>campaign.metric.updated`.

Both ports on one connection of their own. `changed` (MetricChanges) wakes this process's
listeners at once and queues the campaign; a flusher publishes each queued campaign once per
COALESCE_SECONDS at most, however many commits changed it meanwhile, so a campaign sending
thousands of messages a second costs a dozen signals a second. `listen` (MetricChangeFeed)
subscribes every replica to the subject (without echo: our own signals were delivered locally
already).

Core NATS, not a JetStream publish: a signal is only a hint to re-read the ledger, worth nothing
once late, and live streams also re-read on a slow timer, so one lost during a NATS outage only
delays an update. Our events stream captures `<prefix>campaign.>` and so also keeps these
messages, in the same envelope as every domain event (docs/live-metrics.md): other services may
subscribe to them as the published `campaign.metric.updated` event.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from datetime import UTC, datetime
from typing import Any

import orjson
from nats.aio.client import Client
from nats.aio.msg import Msg

from adapters.nats.jetstream import (
    CLOSE_TIMEOUT_SECONDS,
    CONNECT_TIMEOUT_SECONDS,
    connect_bounded,
    connection_state,
)
from domain.kernel.events import SOURCE
from domain.metrics.ports import ChangeListener

SUBJECT = "campaign.metric.updated"
COALESCE_SECONDS = 0.075
RETRY_SECONDS = 2.0  # between attempts to connect for the subscription
MAX_PAYLOAD = 4_096  # a signal is ~300 bytes; anything bigger is not ours

log = logging.getLogger("campaign.nats.metrics")


def signal_envelope(organization_id: str, campaign_id: str, at: datetime) -> dict[str, Any]:
    """The wire shape: a domain event envelope (docs/events.md) whose data names the campaign;
    the counters themselves are read with GetCampaignMetrics or a stream."""
    return {
        "event_id": str(uuid.uuid4()),
        "event_type": SUBJECT,
        "source": SOURCE,
        "organization_id": organization_id,
        "occurred_at": at.isoformat(),
        "data": {
            "campaign_id": campaign_id,
            "metric_type": "counters",
            "timestamp": at.isoformat(),
        },
    }


def campaign_of(payload: bytes) -> tuple[str, str] | None:
    """(organization_id, campaign_id) of a signal; None for anything else."""
    if len(payload) > MAX_PAYLOAD:
        return None
    try:
        envelope = orjson.loads(payload)
        organization_id = envelope["organization_id"]
        campaign_id = envelope["data"]["campaign_id"]
    except (orjson.JSONDecodeError, KeyError, TypeError):
        return None
    if not isinstance(organization_id, str) or not isinstance(campaign_id, str):
        return None
    return organization_id, campaign_id


class NatsMetricChanges:
    def __init__(
        self,
        url: str,
        *,
        subject_prefix: str = "",
        coalesce_seconds: float = COALESCE_SECONDS,
        connect_timeout: float = CONNECT_TIMEOUT_SECONDS,
    ) -> None:
        self.url = url
        self.subject = subject_prefix + SUBJECT
        self._coalesce = coalesce_seconds
        self._connect_timeout = connect_timeout
        self._listeners: list[ChangeListener] = []
        self._pending: dict[tuple[str, str], None] = {}  # an ordered set
        self._nc: Client | None = None
        self._lock = asyncio.Lock()
        self._flusher: asyncio.Task[None] | None = None
        self._subscriber: asyncio.Task[None] | None = None
        self._subscribed = False
        self._closed = False
        self._failing = False  # an unreachable NATS is logged once per outage, not per signal

    @property
    def subscribed(self) -> bool:
        return self._subscribed

    @property
    def connected(self) -> bool | None:
        return connection_state(self._nc)

    # --- MetricChanges ---------------------------------------------------------------------

    def changed(self, organization_id: str, campaign_id: str) -> None:
        if self._closed:
            return
        self._deliver(organization_id, campaign_id)
        self._pending[(organization_id, campaign_id)] = None
        if self._flusher is None or self._flusher.done():
            try:
                self._flusher = asyncio.create_task(self._flush(), name="metric-signals-flush")
            except RuntimeError:  # no event loop (a synchronous caller): the timer covers it
                self._pending.clear()

    async def _flush(self) -> None:
        """Publish what is queued, then wait out the coalescing window; done when nothing
        came in meanwhile (the next `changed` starts a new flusher)."""
        while self._pending:
            batch, self._pending = list(self._pending), {}
            try:
                nc = await self._connection()
                at = datetime.now(UTC)
                for organization_id, campaign_id in batch:
                    await nc.publish(
                        self.subject,
                        orjson.dumps(signal_envelope(organization_id, campaign_id, at)),
                    )
                self._failing = False
            except Exception as exc:  # best effort: the slow re-read covers a lost signal
                if not self._failing:
                    log.warning("metric change signals not published: %r", exc)
                self._failing = True
            await asyncio.sleep(self._coalesce)

    # --- MetricChangeFeed ------------------------------------------------------------------

    def listen(self, listener: ChangeListener) -> None:
        self._listeners.append(listener)
        if self._subscriber is None and not self._closed:
            self._subscriber = asyncio.create_task(self._subscribe(), name="metric-signals-sub")

    async def _subscribe(self) -> None:
        """Until subscribed (nats-py then keeps the subscription across reconnects)."""
        while not self._closed:
            try:
                nc = await self._connection()
                await nc.subscribe(self.subject, cb=self._on_message)
                await nc.flush(timeout=max(1, int(self._connect_timeout)))
            except Exception as exc:
                log.warning("not listening to metric change signals yet: %r", exc)
                await asyncio.sleep(RETRY_SECONDS)
                continue
            self._subscribed = True
            return

    async def _on_message(self, msg: Msg) -> None:
        campaign = campaign_of(msg.data)
        if campaign is not None:
            self._deliver(*campaign)

    def _deliver(self, organization_id: str, campaign_id: str) -> None:
        for listener in self._listeners:
            listener(organization_id, campaign_id)

    # --- the connection --------------------------------------------------------------------

    async def _connection(self) -> Client:
        async with self._lock:
            if self._nc is not None and not self._nc.is_closed:
                return self._nc
            nc = await connect_bounded(
                self.url, self._connect_timeout, no_echo=True, error_cb=_log_error
            )
            self._nc = nc
            return nc

    async def close(self) -> None:
        """Stop publishing and listening and disconnect; never takes much more than
        CLOSE_TIMEOUT_SECONDS."""
        self._closed = True
        tasks = [t for t in (self._flusher, self._subscriber) if t is not None and not t.done()]
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=CLOSE_TIMEOUT_SECONDS)
        async with self._lock:
            nc, self._nc = self._nc, None
        if nc is None or nc.is_closed:
            return
        with contextlib.suppress(Exception):
            await asyncio.wait_for(nc.close(), CLOSE_TIMEOUT_SECONDS)


async def _log_error(exc: Exception) -> None:
    log.warning("NATS error (metric change signals): %r", exc)
