"""One JetStream connection with its stream, shared by our publishers (events, deliveries).

Every failure (no server, lost connection, no stream, no ack in time) surfaces as
DependencyUnavailableError within a bounded time, so the calling relay logs it, backs off and
retries with its work still safely in the database. Once connected, nats-py reconnects on its
own for as long as it takes; publishing fails fast in the meantime.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterator
from typing import Any

from nats.aio.client import Client
from nats.js import JetStreamContext
from nats.js.api import StreamConfig, StreamInfo
from nats.js.errors import APIError, NoStreamResponseError, NotFoundError

from domain.kernel.errors import DependencyUnavailableError

CONNECT_TIMEOUT_SECONDS = 5.0
PUBLISH_TIMEOUT_SECONDS = 5.0
CLOSE_TIMEOUT_SECONDS = 5.0
RECONNECT_WAIT_SECONDS = 1
DUPLICATE_WINDOW_SECONDS = 120.0

log = logging.getLogger("campaign.nats")


class JetStreamLink:
    def __init__(
        self,
        url: str,
        *,
        stream: str,
        subjects: str,
        duplicate_window: float = DUPLICATE_WINDOW_SECONDS,
        connect_timeout: float = CONNECT_TIMEOUT_SECONDS,
        publish_timeout: float = PUBLISH_TIMEOUT_SECONDS,
        max_pending: int = 4_000,
    ) -> None:
        self.url = url
        self.stream = stream
        self.subjects = subjects
        self.publish_timeout = publish_timeout
        self._duplicate_window = duplicate_window
        self._connect_timeout = connect_timeout
        self._max_pending = max_pending
        self._nc: Client | None = None
        self._js: JetStreamContext | None = None
        self._stream_ready = False
        self._lock = asyncio.Lock()

    @property
    def connected(self) -> bool | None:
        """Whether the connection is up now (False while nats-py reconnects, or once closed);
        None before its first use (connections open lazily), so nothing is reported then."""
        return connection_state(self._nc)

    def stream_lost(self) -> None:
        """Nothing captured our subjects: recreate the stream before the next publish."""
        self._stream_ready = False

    @contextlib.contextmanager
    def publish_failures(self, what: str = "", stream_name: str = "") -> Iterator[None]:
        """Any failure of the publish inside as DependencyUnavailableError ("JetStream `what`
        publish failed"). "No stream" also means nothing captures our subjects any more (the
        stream was deleted, or the server came back without its store): the stream is made
        again before the next attempt."""
        try:
            yield
        except NoStreamResponseError as exc:
            self.stream_lost()
            raise DependencyUnavailableError(
                f"no JetStream stream for {stream_name or self.stream}"
            ) from exc
        except Exception as exc:
            label = f"{what} publish" if what else "publish"
            raise DependencyUnavailableError(f"JetStream {label} failed: {exc!r}") from exc

    async def jetstream(self) -> JetStreamContext:
        async with self._lock:
            if self._nc is None or self._js is None or self._nc.is_closed:
                self._nc = await self._connect()
                self._js = self._nc.jetstream(
                    timeout=self.publish_timeout, publish_async_max_pending=self._max_pending
                )
                self._stream_ready = False
            if not self._nc.is_connected:
                # Publishing now would only fill nats-py's buffer and time out, batch after
                # batch; the buffered copies would reach the server after the reconnect anyway.
                raise DependencyUnavailableError("NATS connection lost; reconnecting")
            if not self._stream_ready:
                try:
                    await self._ensure_stream(self._js)
                except Exception as exc:
                    raise DependencyUnavailableError(
                        f"JetStream stream {self.stream} unavailable: {exc!r}"
                    ) from exc
                self._stream_ready = True
            return self._js

    async def close(self) -> None:
        """Disconnect; never raises, never takes much more than CLOSE_TIMEOUT_SECONDS.

        Not drain(): it refuses while reconnecting and waits out long flush timeouts against a
        stalled server. Nothing is lost by closing hard: whatever was not acknowledged is still
        pending in the database.
        """
        async with self._lock:
            nc, self._nc, self._js, self._stream_ready = self._nc, None, None, False
        if nc is None or nc.is_closed:
            return
        closing = asyncio.ensure_future(nc.close())
        done, _ = await asyncio.wait({closing}, timeout=CLOSE_TIMEOUT_SECONDS)
        if not done:  # nats-py ignores the cancellation until its own timeouts expire
            closing.cancel()
        closing.add_done_callback(_ignore_outcome)

    async def _connect(self) -> Client:
        """Connect within connect_timeout, then keep reconnecting forever in the background.

        With unlimited reconnects nats-py also retries the *first* connection forever, and a
        relay would wait silently through a whole outage; bounding it makes "NATS is down" an
        error the relay can report.
        """
        try:
            return await connect_bounded(
                self.url,
                self._connect_timeout,
                error_cb=_log_error,
                disconnected_cb=_log_disconnected,
                reconnected_cb=_log_reconnected,
            )
        except Exception as exc:  # bare OSErrors, nats errors, our timeout
            raise DependencyUnavailableError(f"NATS unreachable: {exc!r}") from exc

    async def _ensure_stream(self, js: JetStreamContext) -> None:
        """Create our stream, or add our subjects to an existing stream of that name.

        A stream with this name but other subjects (made by hand, by another service, or for
        another prefix) would answer every publish with "no responders" forever; adding our
        subject keeps what it has and what it holds.
        """
        info = await self._stream_info(js)
        if info is None:
            config = StreamConfig(
                name=self.stream,
                subjects=[self.subjects],
                duplicate_window=self._duplicate_window,
            )
            try:
                await js.add_stream(config)
                return
            except APIError:
                # A replica starting at the same moment may just have created it: the server
                # then answers "subjects overlap" instead of success. Anything else is real.
                info = await self._stream_info(js)
                if info is None:
                    raise
        subjects = list(info.config.subjects or [])
        if not any(subject_covers(have, self.subjects) for have in subjects):
            await js.update_stream(info.config.evolve(subjects=[*subjects, self.subjects]))

    async def _stream_info(self, js: JetStreamContext) -> StreamInfo | None:
        try:
            return await js.stream_info(self.stream)
        except NotFoundError:
            return None


def subject_covers(pattern: str, subjects: str) -> bool:
    """Whether every subject that matches `subjects` also matches `pattern` (NATS wildcards)."""
    have, want = pattern.split("."), subjects.split(".")
    for position, token in enumerate(have):
        if token == ">":
            return position < len(want)
        if position >= len(want) or want[position] == ">" or token not in ("*", want[position]):
            return False
    return len(have) == len(want)


def connection_state(nc: Client | None) -> bool | None:
    """A client's state for the metrics: connected, not (reconnecting or closed), never opened."""
    return None if nc is None else bool(nc.is_connected)


def _ignore_outcome(task: asyncio.Future[None]) -> None:
    if not task.cancelled():
        task.exception()  # retrieved, so asyncio does not log it as never retrieved


async def connect_bounded(url: str, connect_timeout: float, **options: Any) -> Client:
    """A client connected within `connect_timeout`, which then reconnects forever in the
    background. With unlimited reconnects nats-py also retries the *first* connection forever;
    bounding it lets the caller tell "NATS is down". `options`: nats-py's connect options (the
    callbacks, no_echo). Whatever the connect raised is raised, the client closed."""
    nc = Client()
    try:
        await asyncio.wait_for(
            nc.connect(
                url,
                connect_timeout=max(1, int(connect_timeout)),
                allow_reconnect=True,
                max_reconnect_attempts=-1,
                reconnect_time_wait=RECONNECT_WAIT_SECONDS,
                **options,
            ),
            connect_timeout,
        )
    except BaseException:
        await _close_quietly(nc)
        raise
    return nc


async def _close_quietly(nc: Client) -> None:
    try:
        await nc.close()
    except Exception:
        log.debug("closing a failed NATS connection raised", exc_info=True)


async def _log_error(exc: Exception) -> None:
    log.warning("NATS error: %r", exc)


async def _log_disconnected() -> None:
    log.warning("NATS disconnected; reconnecting in the background")


async def _log_reconnected() -> None:
    log.info("NATS reconnected")
