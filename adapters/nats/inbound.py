"""Durable JetStream pull consumers over the subjects we subscribe to, feeding the intake.

One durable consumer per subscribed subject (nats-server 2.9 takes one filter per consumer),
named after the subject, so every replica pulls from the same consumer and each message goes
to one of them. Each consumer is bound to the stream that already captures its subject (the
publishing service's); a subject nobody captures is added to our own stream.

A message is acknowledged only once the intake returned for it: the effect is committed, or it
was a duplicate. What happens otherwise (docs/inbound-events.md):
- an outage (DependencyUnavailableError, a serialization conflict) -> nak with a growing delay,
  as often as it takes: the event is fine, the database or a broker is not;
- any other failure -> nak with a growing delay, up to `max_deliver` deliveries; the last one
  failing parks the message;
- a poison message (not JSON, no organization_id or event_id, an event the checks refuse, or
  one a handler rejected) -> parked at once.
Parking publishes the message to `<prefix>campaign.dlq.<subject>` (captured by our events
stream, so it is kept) with the reason in a header and in the body, then terminates it. When
the dead-letter publish fails, the message is nak'ed and parked on a later delivery.

A fetched batch is processed concurrently, up to `concurrency` transactions at a time over all
subjects together, but the events of one (organization, user) in order; given the intake's
`take_batch`, a transaction takes a chunk of the batch (at least CHUNK_EVENTS events) instead of
one event.

Each message is taken in a span that continues the trace its traceparent header carries
(adapters/nats/inbound_spans.py; no-op while tracing is off).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TypeVar

import orjson
from nats.aio.msg import Msg
from nats.errors import TimeoutError as NatsTimeoutError
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy, StreamConfig
from nats.js.errors import APIError, NotFoundError

from adapters.nats.inbound_envelope import SUBJECTS, PoisonMessageError, decode
from adapters.nats.inbound_spans import taking, taking_all
from adapters.nats.jetstream import JetStreamLink, subject_covers
from domain.events.model import InboundEvent, Outcome, Taken
from domain.kernel.errors import ConflictError, DependencyUnavailableError

log = logging.getLogger("campaign.nats.inbound")
T = TypeVar("T")

Take = Callable[[InboundEvent], Awaitable[Taken]]
TakeMany = Callable[[Sequence[InboundEvent]], Awaitable[list[Taken]]]

DLQ_REASON_HEADER = "Campaign-Dlq-Reason"
DLQ_SUBJECT_HEADER = "Campaign-Dlq-Subject"
DLQ_DELIVERIES_HEADER = "Campaign-Dlq-Deliveries"
INBOUND_MAX_AGE_SECONDS = 7 * 24 * 3600.0  # what our own inbound stream keeps
MAX_NAK_DELAY_SECONDS = 60.0
# After the first message of a fetch, how long to wait for more of the same batch.
BATCH_GATHER_SECONDS = 0.005
MAX_REASON = 1_000
# The fewest events a chunk of a fetched batch has (the last one excepted): fewer, larger
# transactions when events come fast; a lone event is still a chunk of one.
CHUNK_EVENTS = 16
CAPTURE_ATTEMPTS = 5


@dataclass(frozen=True, slots=True)
class InboundOptions:
    stream: str = "CAMPAIGN_INBOUND"  # our own stream, for subjects no other stream captures
    max_deliver: int = 5
    retry_delay: float = 1.0  # the first nak's delay; doubles per delivery
    batch: int = 512  # docs/performance.md, "Inbound batch size"
    fetch_wait: float = 1.0  # how long one fetch waits for a first message
    concurrency: int = 8  # events in the intake at a time, all subjects together
    ack_wait: float = 30.0


def durable_name(subject: str) -> str:
    """A consumer name from its filter subject: every replica derives the same one."""
    token = subject.replace("*", "STAR").replace(">", "ALL")
    return "campaign-in-" + re.sub(r"[^A-Za-z0-9_-]", "_", token)


def dlq_subject(prefix: str, subject: str) -> str:
    """`subject` as received (with the prefix) -> its dead-letter subject."""
    return f"{prefix}campaign.dlq.{subject.removeprefix(prefix)}"


class NatsInbound:
    """The consumers of every subscribed subject on one connection (the link's), which also
    carries the dead-letter publishes."""

    def __init__(self, link: JetStreamLink, prefix: str, options: InboundOptions) -> None:
        self._link = link
        self.prefix = prefix
        self.options = options
        self.consumers = [SubjectConsumer(self, prefix + s) for s in SUBJECTS]
        # Every consumer's events share these: each one is a transaction, and the pool is
        # shared with the executor and the RPCs.
        self.slots = asyncio.Semaphore(options.concurrency)
        self._streams: dict[str, str] = {}  # filter subject -> the stream its consumer reads
        self._bound_to: JetStreamContext | None = None
        self._lock = asyncio.Lock()

    async def jetstream(self) -> JetStreamContext:
        return await self._link.jetstream()

    @property
    def connected(self) -> bool | None:
        return self._link.connected

    async def lag(self) -> dict[str, int]:
        """Per subscribed subject (without the prefix), the messages its durable consumer has
        not delivered yet (JetStream's num_pending), for the consumers bound on the current
        connection; nothing while disconnected (this never connects by itself)."""
        if not self._link.connected:
            return {}
        js = await self._link.jetstream()
        async with self._lock:
            bound = dict(self._streams) if self._bound_to is js else {}
        lag: dict[str, int] = {}
        for consumer in self.consumers:
            stream = bound.get(consumer.subject)
            if stream is None:
                continue
            try:
                info = await js.consumer_info(stream, consumer.name)
            except Exception as exc:
                raise DependencyUnavailableError(
                    f"JetStream consumer {consumer.name} info unavailable: {exc!r}"
                ) from exc
            lag[consumer.subject.removeprefix(self.prefix)] = info.num_pending or 0
        return lag

    async def stream_for(self, js: JetStreamContext, subject: str) -> str:
        """The stream capturing `subject`; our own (made or extended) when none does."""
        async with self._lock:
            if self._bound_to is not js:  # a new connection: look again
                self._streams.clear()
                self._bound_to = js
            if subject not in self._streams:
                self._streams[subject] = await self._find_or_capture(js, subject)
            return self._streams[subject]

    async def _find_or_capture(self, js: JetStreamContext, subject: str) -> str:
        with contextlib.suppress(NotFoundError):
            return await js.find_stream_name_by_subject(subject)
        own = self.options.stream
        for _ in range(CAPTURE_ATTEMPTS):
            # Read, add, and read again: another replica (or a process with another prefix on
            # the same stream) may update the subjects at the same moment and overwrite ours.
            try:
                info = await js.stream_info(own)
            except NotFoundError:
                config = StreamConfig(name=own, subjects=[subject], max_age=INBOUND_MAX_AGE_SECONDS)
                with contextlib.suppress(APIError):  # a replica made it at the same moment
                    await js.add_stream(config)
                continue
            subjects = list(info.config.subjects or [])
            if any(subject_covers(have, subject) for have in subjects):
                return own
            with contextlib.suppress(APIError):
                await js.update_stream(info.config.evolve(subjects=[*subjects, subject]))
        raise DependencyUnavailableError(f"could not add {subject} to the stream {own}")

    async def park(self, msg: Msg, reason: str, deliveries: int) -> None:
        """Publish the message to its dead-letter subject with the reason, then end its
        deliveries. DependencyUnavailableError when the publish failed (the caller naks)."""
        reason = reason[:MAX_REASON]
        body: dict[str, object] = {
            "reason": reason,
            "subject": msg.subject,
            "deliveries": deliveries,
            "parked_at": datetime.now(UTC).isoformat(),
        }
        try:
            body["payload"] = msg.data.decode()
        except UnicodeDecodeError:
            body["payload_base64"] = base64.b64encode(msg.data).decode()
        meta = msg.metadata
        headers = {
            DLQ_REASON_HEADER: reason.replace("\r", " ").replace("\n", " "),
            DLQ_SUBJECT_HEADER: msg.subject,
            DLQ_DELIVERIES_HEADER: str(deliveries),
            # One parked copy per stream message, however often parking is retried.
            "Nats-Msg-Id": f"dlq:{meta.stream}:{meta.sequence.stream}",
        }
        js = await self._link.jetstream()
        with self._link.publish_failures("dead-letter"):
            await js.publish(
                dlq_subject(self.prefix, msg.subject),
                orjson.dumps(body),
                timeout=self._link.publish_timeout,
                headers=headers,
            )
        await msg.term()
        log.warning(
            "inbound event parked on the dead-letter subject: %s (subject %s, delivery %d)",
            reason,
            msg.subject,
            deliveries,
        )

    async def close(self) -> None:
        await self._link.close()


class SubjectConsumer:
    """The durable pull consumer of one subscribed subject."""

    def __init__(self, inbound: NatsInbound, subject: str) -> None:
        self._inbound = inbound
        self.subject = subject
        self.name = durable_name(subject)
        self._subscription: JetStreamContext.PullSubscription | None = None
        self._js: JetStreamContext | None = None

    async def fetch(self) -> list[Msg]:
        """The next batch: waits up to fetch_wait for a first message, then takes whatever
        else is there at once. Cancelling it loses nothing: a message fetched and never
        settled is delivered again after the ack wait."""
        subscription = await self._subscribe()
        options = self._inbound.options
        try:
            messages = await subscription.fetch(1, timeout=options.fetch_wait)
        except (TimeoutError, NatsTimeoutError):
            return []
        if options.batch > 1:
            with contextlib.suppress(TimeoutError, NatsTimeoutError):
                messages += await subscription.fetch(
                    options.batch - 1, timeout=BATCH_GATHER_SECONDS
                )
        return messages

    async def close(self) -> None:
        subscription, self._subscription = self._subscription, None
        if subscription is not None:
            with contextlib.suppress(Exception):
                await subscription.unsubscribe()

    async def _subscribe(self) -> JetStreamContext.PullSubscription:
        js = await self._inbound.jetstream()
        if self._subscription is not None and self._js is js:
            return self._subscription
        options = self._inbound.options
        stream = await self._inbound.stream_for(js, self.subject)
        own = stream == options.stream
        config = ConsumerConfig(
            ack_policy=AckPolicy.EXPLICIT,
            # Our own stream only holds what was sent for us; another service's stream may
            # hold months of history that must not fire triggers now.
            deliver_policy=DeliverPolicy.ALL if own else DeliverPolicy.NEW,
            ack_wait=options.ack_wait,
            max_ack_pending=max(1_000, options.batch * 8),
            # Unlimited here: the bound is applied by `_settle` so that the last failing
            # delivery can still be parked (and an outage never counts against it).
            max_deliver=-1,
        )
        try:
            self._subscription = await js.pull_subscribe(
                self.subject, durable=self.name, stream=stream, config=config
            )
        except Exception as exc:
            raise DependencyUnavailableError(
                f"JetStream consumer {self.name} on {stream} unavailable: {exc!r}"
            ) from exc
        self._js = js
        return self._subscription

    async def settle(
        self, messages: Sequence[Msg], take: Take, take_many: TakeMany | None = None
    ) -> None:
        """Every message settled (acked, nak'ed or parked) before returning; the events of
        one (organization, user) in their order, the rest concurrently, within the slots all
        subjects share.

        With `take_many`, the batch goes to the intake in a few chunks, one transaction each
        (a whole lane in one chunk, so its order holds): at a few thousand events a second,
        one transaction per event was most of the intake's cost. A chunk that fails as a
        whole is settled again event by event, so an outage or a failing handler costs each
        event exactly what it would alone (its retries, its parking)."""
        now = datetime.now(UTC)
        lanes: dict[object, list[tuple[Msg, InboundEvent | PoisonMessageError]]] = {}
        for position, msg in enumerate(messages):
            try:
                item: InboundEvent | PoisonMessageError = decode(
                    msg.subject.removeprefix(self._inbound.prefix), msg.data, now
                )
            except PoisonMessageError as exc:
                item = exc
            key: object = (
                (item.organization_id, item.user_id)
                if isinstance(item, InboundEvent) and item.user_id
                else position
            )
            lanes.setdefault(key, []).append((msg, item))
        slots = self._inbound.slots

        async def lane(items: list[tuple[Msg, InboundEvent | PoisonMessageError]]) -> None:
            for msg, item in items:
                async with slots:
                    await self._settle(msg, item, take)

        async with asyncio.TaskGroup() as group:
            if take_many is None:
                for items in lanes.values():
                    group.create_task(lane(items))
            else:
                most = self._inbound.options.concurrency
                for chunk in deal_into_chunks(list(lanes.values()), most):
                    group.create_task(self._settle_chunk(chunk, take, take_many))

    async def _settle_chunk(
        self,
        chunk: list[tuple[Msg, InboundEvent | PoisonMessageError]],
        take: Take,
        take_many: TakeMany,
    ) -> None:
        events = [(msg, item) for msg, item in chunk if isinstance(item, InboundEvent)]
        async with self._inbound.slots:
            for msg, item in chunk:
                if isinstance(item, PoisonMessageError):
                    await self._settle(msg, item, take)
            if not events:
                return
            try:
                with taking_all(msg for msg, _ in events):
                    taken = await take_many([item for _, item in events])
            except Exception as exc:
                log.info("inbound chunk of %d failed as a whole (%r); one by one", len(events), exc)
                for msg, item in events:
                    await self._settle(msg, item, take)
                return
            for (msg, _), outcome in zip(events, taken, strict=True):
                try:
                    if outcome.outcome is Outcome.REJECTED:
                        await self._inbound.park(
                            msg, f"rejected: {outcome.reason}", msg.metadata.num_delivered
                        )
                    else:
                        await msg.ack()
                except DependencyUnavailableError as exc:
                    await self._retry(msg, msg.metadata.num_delivered, exc)

    async def _settle(self, msg: Msg, item: InboundEvent | PoisonMessageError, take: Take) -> None:
        with taking(msg):  # in the trace the publisher sent, if any
            await self._settle_traced(msg, item, take)

    async def _settle_traced(
        self, msg: Msg, item: InboundEvent | PoisonMessageError, take: Take
    ) -> None:
        options = self._inbound.options
        deliveries = msg.metadata.num_delivered
        try:
            if isinstance(item, PoisonMessageError):
                await self._inbound.park(msg, str(item), deliveries)
                return
            try:
                taken = await take(item)
            except (DependencyUnavailableError, ConflictError) as exc:
                await self._retry(msg, deliveries, exc)
                return
            except Exception as exc:
                if deliveries >= options.max_deliver:
                    await self._inbound.park(
                        msg,
                        f"failed on delivery {deliveries} of {options.max_deliver}: "
                        f"{type(exc).__name__}: {exc}",
                        deliveries,
                    )
                else:
                    await self._retry(msg, deliveries, exc)
                return
            if taken.outcome is Outcome.REJECTED:
                await self._inbound.park(msg, f"rejected: {taken.reason}", deliveries)
                return
            await msg.ack()
        except DependencyUnavailableError as exc:  # the dead-letter publish, or the ack path
            await self._retry(msg, deliveries, exc)

    async def _retry(self, msg: Msg, deliveries: int, error: Exception) -> None:
        delay = min(
            self._inbound.options.retry_delay * 2 ** (deliveries - 1), MAX_NAK_DELAY_SECONDS
        )
        log.warning(
            "inbound event failed; redelivering in %.2f s (subject %s, delivery %d): %r",
            delay,
            msg.subject,
            deliveries,
            error,
        )
        with contextlib.suppress(Exception):  # no nak: the ack wait redelivers it anyway
            await msg.nak(delay=delay)


def deal_into_chunks(lanes: list[list[T]], most: int) -> list[list[T]]:
    """The lanes dealt into at most `most` chunks of about equal size, each lane whole and in
    order, each chunk (but one) at least CHUNK_EVENTS long."""
    total = sum(len(lane) for lane in lanes)
    count = max(1, min(most, total // CHUNK_EVENTS))
    chunks: list[list[T]] = [[] for _ in range(count)]
    for lane in sorted(lanes, key=len, reverse=True):
        min(chunks, key=len).extend(lane)
    return [chunk for chunk in chunks if chunk]
