"""Delivery requests to the notification service: `notification.send.<channel>` on JetStream,
one message per recipient, `Nats-Msg-Id` = message id (API.md).

Publishing is pipelined (nats-py publish_async: up to `max_pending` unacknowledged messages in
flight), which is what makes a million-message run take seconds instead of hours; the batch is
marked sent only once every ack came back.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import orjson
from nats.js.errors import NoStreamResponseError

from adapters.nats.jetstream import JetStreamLink
from domain.errors import DependencyUnavailableError
from domain.execution import Message, MessageStatus

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

    @property
    def handed_over_status(self) -> MessageStatus:
        return MessageStatus.SENT

    def subject_for(self, message: Message) -> str:
        return f"{self._prefix}notification.send.{message.channel.value}"

    async def publish(self, messages: Sequence[Message]) -> None:
        if not messages:
            return
        js = await self._link.jetstream()
        try:
            acks = [
                await js.publish_async(
                    self.subject_for(m),
                    _payload(m),
                    headers={"Nats-Msg-Id": m.message_id},
                    wait_stall=self._link.publish_timeout,
                )
                for m in messages
            ]
            await asyncio.wait_for(asyncio.gather(*acks), self._link.publish_timeout)
        except NoStreamResponseError as exc:
            self._link.stream_lost()
            raise DependencyUnavailableError("no JetStream stream for deliveries") from exc
        except Exception as exc:
            raise DependencyUnavailableError(f"JetStream delivery publish failed: {exc!r}") from exc

    async def close(self) -> None:
        await self._link.close()


def _payload(m: Message) -> bytes:
    return orjson.dumps(
        {
            "message_id": m.message_id,
            "organization_id": m.organization_id,
            "campaign_id": m.campaign_id,
            "execution_id": m.execution_id,
            "user_id": m.user_id,
            "variant_id": m.variant_id,
            "channel": m.channel.value,
            "recipient": m.recipient,
            "content": m.content,
            "send_after": m.send_after.isoformat(),
        }
    )
