"""Delivery requests to the notification service: `notification.send.<channel>` on JetStream,
one message per recipient, `Nats-Msg-Id` = message id (docs/events.md).

Publishing is pipelined through an ack-counting window (adapters/nats/ack_window.py). The batch
is marked sent only once every ack came back; any error ack, "no responders" or silence longer
than the publish timeout fails the whole batch, which then stays queued and is published again.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import orjson

from adapters.nats.ack_window import AckWindow, Outgoing
from adapters.nats.jetstream import JetStreamLink
from adapters.trace_context import CurrentTraceContext, headers_of
from domain.campaigns.webhooks import delivery_content
from domain.execution.model import Message, MessageStatus, reported_execution_id

# Long enough to cover a relay that died mid-batch and a restart; the notification service
# still deduplicates by message_id beyond it (the documented limit of exactly-once).
DELIVERY_DUPLICATE_WINDOW_SECONDS = 600.0


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
        self._window = AckWindow()

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
        js = await self._link.jetstream()
        with self._link.publish_failures("delivery", stream_name="deliveries"):
            await self._window.publish(
                js, len(messages), self._outgoing(messages), self._link.publish_timeout
            )

    def _outgoing(self, messages: Sequence[Message]) -> Iterator[Outgoing]:
        subjects: dict[str, str] = {}
        # The trace of the work that wrote a message alone (a transactional send), else of the
        # hand-over (the run's step, the delivery relay's): the notification service continues
        # it (docs/observability-traces.md); nothing while tracing is off.
        traced = headers_of(CurrentTraceContext().current())
        for m in messages:
            channel = m.channel.value
            subject = subjects.get(channel) or subjects.setdefault(
                channel, f"{self._prefix}notification.send.{channel}"
            )
            headers = {
                "Nats-Msg-Id": m.message_id,
                **(headers_of(m.trace_context) if m.trace_context else traced),
            }
            yield subject, _payload(m), headers

    async def close(self) -> None:
        self._window.forget()
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
