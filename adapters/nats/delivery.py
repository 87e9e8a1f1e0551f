"""Delivery requests to the notification service: `notification.send.<channel>` on JetStream,
one message per recipient, `Nats-Msg-Id` = message id (docs/events.md).

Publishing is pipelined through an ack-counting window: every message goes out as a plain NATS
publish whose reply subject is a private inbox, with up to PUBLISH_WINDOW of them unacknowledged
at a time, and one subscription on that inbox counts JetStream's acknowledgements. That is what
nats-py's publish_async does too, minus a future, a semaphore and (with wait_stall) a task per
message, which is where its throughput went (docs/performance.md). The batch is marked sent
only once every ack came back; any error ack, "no responders" or silence longer than the publish
timeout fails the whole batch, which then stays queued and is published again.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Sequence

import orjson
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription
from nats.js import JetStreamContext
from nats.js.errors import APIError, NoStreamResponseError

from adapters.nats.jetstream import JetStreamLink
from adapters.trace_context import CurrentTraceContext, headers_of
from domain.campaigns.webhooks import delivery_content
from domain.execution.model import Message, MessageStatus, reported_execution_id

# Long enough to cover a relay that died mid-batch and a restart; the notification service
# still deduplicates by message_id beyond it (the documented limit of exactly-once).
DELIVERY_DUPLICATE_WINDOW_SECONDS = 600.0
# Most messages published and not yet acknowledged; publishing resumes at half of it.
PUBLISH_WINDOW = 8_192
NO_RESPONDERS_STATUS = "503"


class _Batch:
    """The acknowledgements of one publish call, as they arrive."""

    def __init__(self, tag: str, size: int) -> None:
        self.tag = tag
        self.acked = bytearray(size)
        self.published = 0
        self.acks = 0
        self.error: Exception | None = None
        self.finished = asyncio.Event()  # every published message acknowledged, or an error
        self.room = asyncio.Event()  # the window has room again
        self.room.set()
        self.low_water = PUBLISH_WINDOW // 2

    def acknowledge(self, index: int, error: Exception | None) -> None:
        if index >= len(self.acked) or self.acked[index]:
            return  # not ours, or a repeat
        self.acked[index] = 1
        self.acks += 1
        if error is not None and self.error is None:
            self.error = error
        if self.error is not None or self.acks == len(self.acked):
            self.finished.set()
            self.room.set()
        elif self.published - self.acks <= self.low_water:
            self.room.set()


class _AckInbox:
    """One wildcard subscription on a private inbox of one connection, routing acks to the
    batch in flight by the reply subject `<inbox>.<batch tag>.<index>`."""

    def __init__(self, nc: Client) -> None:
        self.nc = nc
        self.prefix = nc.new_inbox() + "."
        self.batch: _Batch | None = None
        self.subscription: Subscription | None = None

    async def open(self) -> _AckInbox:
        self.subscription = await self.nc.subscribe(self.prefix + ">", cb=self.on_ack)
        return self

    async def on_ack(self, msg: Msg) -> None:
        batch = self.batch
        tag, _, index = msg.subject[len(self.prefix) :].partition(".")
        if batch is None or tag != batch.tag or not index.isdigit():
            return  # a late ack of a batch that already failed
        batch.acknowledge(int(index), _ack_error(msg))


def _ack_error(msg: Msg) -> Exception | None:
    """What JetStream answered, as nats-py's publish_async would raise it (None for an ack)."""
    if msg.headers and msg.headers.get("Status") == NO_RESPONDERS_STATUS:
        return NoStreamResponseError()
    try:
        answer = orjson.loads(msg.data)
    except orjson.JSONDecodeError as exc:
        return APIError(description=f"unreadable publish ack {msg.data[:200]!r}: {exc}")
    if not isinstance(answer, dict):
        return APIError(description=f"unexpected publish ack {msg.data[:200]!r}")
    if "error" in answer:
        try:
            APIError.from_error(answer["error"])  # raises the typed error, as nats-py does
        except APIError as exc:
            return exc
        except Exception as exc:  # a malformed error object
            return APIError(description=f"unexpected publish ack {msg.data[:200]!r}: {exc!r}")
    if "stream" not in answer or "seq" not in answer:
        return APIError(description=f"unexpected publish ack {msg.data[:200]!r}")
    return None


class NatsDeliveryPublisher:
    def __init__(
        self,
        url: str,
        *,
        stream: str,
        subject_prefix: str = "",
        publish_timeout: float = 10.0,
        connect_timeout: float = 5.0,
    ) -> None:
        self._prefix = subject_prefix
        self._link = JetStreamLink(
            url,
            stream=stream,
            subjects=f"{subject_prefix}notification.send.>",
            duplicate_window=DELIVERY_DUPLICATE_WINDOW_SECONDS,
            connect_timeout=connect_timeout,
            publish_timeout=publish_timeout,
        )
        self._inbox: _AckInbox | None = None
        self._tags = itertools.count()
        self._lock = asyncio.Lock()

    @property
    def connected(self) -> bool | None:
        return self._link.connected

    @property
    def handed_over_status(self) -> MessageStatus:
        return MessageStatus.SENT

    async def handed_over(self, messages: Sequence[Message]) -> None:
        """Nothing: the notification service reports on its own (`notification.*`)."""

    def subject_for(self, message: Message) -> str:
        return f"{self._prefix}notification.send.{message.channel.value}"

    async def publish(self, messages: Sequence[Message]) -> None:
        if not messages:
            return
        async with self._lock:  # one batch in flight per publisher: acks route by batch tag
            js = await self._link.jetstream()
            with self._link.publish_failures("delivery", stream_name="deliveries"):
                await self._publish(js, messages)

    async def _publish(self, js: JetStreamContext, messages: Sequence[Message]) -> None:
        inbox = await self._inbox_for(js)
        timeout = self._link.publish_timeout
        batch = _Batch(str(next(self._tags)), len(messages))
        inbox.batch = batch
        reply = f"{inbox.prefix}{batch.tag}."
        publish = inbox.nc.publish
        subjects: dict[str, str] = {}
        # The trace of the work that wrote a message alone (a transactional send), else of the
        # hand-over (the run's step, the delivery relay's): the notification service continues
        # it (docs/observability-traces.md); nothing while tracing is off.
        traced = headers_of(CurrentTraceContext().current())
        try:
            for index, m in enumerate(messages):
                if batch.published - batch.acks >= PUBLISH_WINDOW:
                    batch.room.clear()
                    await asyncio.wait_for(batch.room.wait(), timeout)
                if batch.error is not None:
                    break
                channel = m.channel.value
                subject = subjects.get(channel) or subjects.setdefault(
                    channel, f"{self._prefix}notification.send.{channel}"
                )
                batch.published += 1
                await publish(
                    subject,
                    _payload(m),
                    reply=f"{reply}{index}",
                    headers={
                        "Nats-Msg-Id": m.message_id,
                        **(headers_of(m.trace_context) if m.trace_context else traced),
                    },
                )
            await asyncio.wait_for(batch.finished.wait(), timeout)
        finally:
            inbox.batch = None
        if batch.error is not None:
            raise batch.error

    async def _inbox_for(self, js: JetStreamContext) -> _AckInbox:
        # The link's JetStream context belongs to its current connection; nats-py keeps our
        # subscription across reconnects, and a new connection gets a new inbox.
        nc: Client = js._nc
        if self._inbox is None or self._inbox.nc is not nc:
            self._inbox = await _AckInbox(nc).open()
        return self._inbox

    async def close(self) -> None:
        self._inbox = None
        await self._link.close()


def _payload(m: Message) -> bytes:
    return orjson.dumps(
        {
            "message_id": m.message_id,
            "organization_id": m.organization_id,
            "campaign_id": m.campaign_id,
            "execution_id": reported_execution_id(m),
            "user_id": m.user_id,
            "variant_id": m.variant_id,
            "channel": m.channel.value,
            "recipient": m.recipient,
            "content": delivery_content(m.content),
            "send_after": m.send_after.isoformat(),
        }
    )
