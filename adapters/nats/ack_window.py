"""Pipelined JetStream publishing through an ack-counting window, for both our publishers (delivery
requests and domain events).

Every message goes out as a plain NATS publish whose reply subject is a private inbox, with up to
PUBLISH_WINDOW of them unacknowledged at a time, and one subscription on that inbox counts
JetStream's acknowledgements. That is what nats-py's publish_async (and a gather of `publish`)
does too, minus a future, a semaphore or a task and a timer per message, which is where the
throughput went (docs/performance.md). A call returns once every ack came back; any error ack,
"no responders" or silence longer than the timeout fails the whole call, which the caller then
repeats (the messages carry `Nats-Msg-Id`, so JetStream drops what it already has).
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Iterable

import orjson
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription
from nats.js import JetStreamContext
from nats.js.errors import APIError, NoStreamResponseError

# Most messages published and not yet acknowledged; publishing resumes at half of it.
PUBLISH_WINDOW = 8_192
# Messages published between two turns of the event loop: a publish does not wait for anything
# while the window has room, so without them a big batch would hold the loop (and every RPC of
# the process) for as long as it takes to publish a window's worth, 100 ms and more.
PUBLISHES_PER_TURN = 256
NO_RESPONDERS_STATUS = "503"

# (subject, payload, headers) of one message.
Outgoing = tuple[str, bytes, dict[str, str]]


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


class AckWindow:
    """One publisher's window: one call in flight at a time (acks route by its batch tag)."""

    def __init__(self) -> None:
        self._inbox: _AckInbox | None = None
        self._tags = itertools.count()
        self._lock = asyncio.Lock()

    async def publish(
        self, js: JetStreamContext, count: int, messages: Iterable[Outgoing], ack_timeout: float
    ) -> None:
        """Publish the `count` messages (made as they go out, so a big batch never exists
        twice in memory) and wait for every ack; raises the first error JetStream answered, or
        TimeoutError after `ack_timeout` without room in the window or without the last acks."""
        if count == 0:
            return
        async with self._lock:
            inbox = await self._inbox_for(js)
            batch = _Batch(str(next(self._tags)), count)
            inbox.batch = batch
            reply = f"{inbox.prefix}{batch.tag}."
            publish = inbox.nc.publish
            try:
                for index, (subject, payload, headers) in enumerate(messages):
                    if batch.published - batch.acks >= PUBLISH_WINDOW:
                        batch.room.clear()
                        await asyncio.wait_for(batch.room.wait(), ack_timeout)
                    if batch.error is not None:
                        break
                    batch.published += 1
                    await publish(subject, payload, reply=f"{reply}{index}", headers=headers)
                    if index % PUBLISHES_PER_TURN == PUBLISHES_PER_TURN - 1:
                        await asyncio.sleep(0)
                await asyncio.wait_for(batch.finished.wait(), ack_timeout)
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

    def forget(self) -> None:
        """The connection is closing: the next call opens a new inbox."""
        self._inbox = None
