"""Events to NATS JetStream, one message per event, `Nats-Msg-Id` = event id.

JetStream drops a second message with the same id inside the stream's duplicate window, which is
what turns the outbox relay's at-least-once into exactly-once for subscribers.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import nats
import orjson
from nats.aio.client import Client
from nats.js import JetStreamContext
from nats.js.api import StreamConfig
from nats.js.errors import NotFoundError

from domain.errors import DependencyUnavailableError
from domain.events import DomainEvent

DUPLICATE_WINDOW_SECONDS = 120.0
PUBLISH_TIMEOUT_SECONDS = 5.0


class NatsEventPublisher:
    def __init__(self, url: str, *, stream: str, subject_prefix: str = "") -> None:
        self._url = url
        self._stream = stream
        self._prefix = subject_prefix
        self._nc: Client | None = None
        self._js: JetStreamContext | None = None
        self._lock = asyncio.Lock()

    def subject_for(self, event: DomainEvent) -> str:
        return self._prefix + event.event_type

    async def _jetstream(self) -> JetStreamContext:
        async with self._lock:
            if self._js is None or self._nc is None or self._nc.is_closed:
                try:
                    self._nc = await nats.connect(
                        self._url,
                        connect_timeout=2,
                        max_reconnect_attempts=-1,
                        allow_reconnect=True,
                    )
                except Exception as exc:  # nats raises bare OSErrors and its own error types
                    raise DependencyUnavailableError(f"NATS unreachable: {exc}") from exc
                self._js = self._nc.jetstream(timeout=PUBLISH_TIMEOUT_SECONDS)
                await self._ensure_stream(self._js)
            return self._js

    async def _ensure_stream(self, js: JetStreamContext) -> None:
        try:
            await js.stream_info(self._stream)
        except NotFoundError:
            await js.add_stream(
                StreamConfig(
                    name=self._stream,
                    subjects=[f"{self._prefix}campaign.>"],
                    duplicate_window=DUPLICATE_WINDOW_SECONDS,
                )
            )

    async def publish(self, events: Sequence[DomainEvent]) -> None:
        js = await self._jetstream()
        try:
            await asyncio.gather(
                *(
                    js.publish(
                        self.subject_for(e),
                        orjson.dumps(e.envelope()),
                        headers={"Nats-Msg-Id": e.event_id},
                    )
                    for e in events
                )
            )
        except Exception as exc:
            raise DependencyUnavailableError(f"JetStream publish failed: {exc}") from exc

    async def close(self) -> None:
        if self._nc is not None and not self._nc.is_closed:
            await self._nc.drain()
        self._nc = self._js = None
