"""Events to NATS JetStream, one message per event, `Nats-Msg-Id` = event id.

JetStream drops a second message with the same id inside the stream's duplicate window, which is
what turns the outbox relay's at-least-once into exactly-once for subscribers. The window bounds
the promise: a batch republished more than DUPLICATE_WINDOW_SECONDS after its first attempt (a
relay that died mid-batch and nobody relayed for that long) reaches subscribers twice, and they
deduplicate by event_id as the port says.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import orjson

from adapters.nats.ack_window import AckWindow, Outgoing
from adapters.nats.jetstream import (
    CLOSE_TIMEOUT_SECONDS,
    CONNECT_TIMEOUT_SECONDS,
    DUPLICATE_WINDOW_SECONDS,
    PUBLISH_TIMEOUT_SECONDS,
    JetStreamLink,
    subject_covers,
)
from adapters.trace_context import headers_of
from domain.kernel.events import DomainEvent

__all__ = [
    "CLOSE_TIMEOUT_SECONDS",
    "DUPLICATE_WINDOW_SECONDS",
    "NatsEventPublisher",
    "subject_covers",
]


class NatsEventPublisher:
    """The EventPublisher port on one JetStream connection, opened on first use (see
    adapters.nats.jetstream for how failures surface)."""

    def __init__(
        self,
        url: str,
        *,
        stream: str,
        subject_prefix: str = "",
        connect_timeout: float = CONNECT_TIMEOUT_SECONDS,
        publish_timeout: float = PUBLISH_TIMEOUT_SECONDS,
    ) -> None:
        self._prefix = subject_prefix
        self._link = JetStreamLink(
            url,
            stream=stream,
            subjects=f"{subject_prefix}campaign.>",
            connect_timeout=connect_timeout,
            publish_timeout=publish_timeout,
        )
        self._window = AckWindow()

    @property
    def stream_subject(self) -> str:
        """What our stream must capture: every subject we publish to."""
        return self._link.subjects

    @property
    def connected(self) -> bool | None:
        return self._link.connected

    def subject_for(self, event: DomainEvent) -> str:
        return self._prefix + event.event_type

    async def ping(self) -> None:
        """Connect and make sure of the stream now (DependencyUnavailableError if not): a
        start-up report, not a gate; the connection is kept for the first publish."""
        await self._link.jetstream()

    async def publish(self, events: Sequence[DomainEvent]) -> None:
        """Publish every event and wait for JetStream's acks (all pipelined through the ack
        window, sent in order), each with the W3C traceparent of the work that recorded it, if
        it was traced. A gather of nats-py's `publish` cost a task, a future and a timer per
        event: the relay publishes one event per message state change (docs/performance.md)."""
        if not events:
            return
        js = await self._link.jetstream()
        with self._link.publish_failures():
            await self._window.publish(
                js, len(events), self._outgoing(events), self._link.publish_timeout
            )

    def _outgoing(self, events: Sequence[DomainEvent]) -> Iterator[Outgoing]:
        for e in events:
            # the trace of the change, so a consumer continues it
            headers = {"Nats-Msg-Id": e.event_id, **headers_of(e.trace_context)}
            yield self.subject_for(e), orjson.dumps(e.envelope()), headers

    async def close(self) -> None:
        self._window.forget()
        await self._link.close()
