"""The resilient core shared by every upstream: one pooled httpx client, retries, a breaker.

Every failure leaves this module as a domain error (`raise ... from exc`), so nothing above it
ever sees an httpx exception: UpstreamUnavailableError when the upstream could not answer (after
the retries), UpstreamRejectedError for a 4xx, UpstreamBadResponseError when a 2xx body is not
JSON. Bodies are (de)serialized with orjson: a members page is 10,000 ids.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx
import orjson

from adapters.http.breaker import CircuitBreaker, CircuitOpenError, CircuitState
from adapters.http.errors import (
    UpstreamBadResponseError,
    UpstreamRejectedError,
    UpstreamUnavailableError,
)
from adapters.http.retry import RETRYABLE_STATUSES, RetryPolicy, parse_retry_after

log = logging.getLogger("campaign.http")

# Failures another attempt can cure. Anything else httpx raises (a bad URL, an unsupported
# scheme) is a configuration mistake: reported at once, never retried.
RETRYABLE_ERRORS = (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError)
MAX_DETAIL = 200


@dataclass(frozen=True, slots=True)
class Timeouts:
    """Seconds. `read` bounds each wait for bytes, not the whole response."""

    connect: float = 2.0
    read: float = 10.0

    def to_httpx(self) -> httpx.Timeout:
        return httpx.Timeout(self.read, connect=self.connect, pool=self.connect)


@dataclass(frozen=True, slots=True)
class _Failure:
    """One failed attempt, kept to explain the final error and to chain it as the cause."""

    description: str
    cause: Exception
    retryable: bool
    retry_after: float | None = None

    def __str__(self) -> str:
        return self.description


class UpstreamClient:
    """JSON over HTTP to one upstream service, created once and closed on shutdown.

    `name` appears in every error and log line, so an operator knows which team to call.
    """

    def __init__(
        self,
        name: str,
        base_url: str,
        *,
        token: str | None = None,
        timeouts: Timeouts | None = None,
        retry: RetryPolicy | None = None,
        breaker: CircuitBreaker | None = None,
        max_connections: int = 20,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.name = name
        self._retry = retry or RetryPolicy()
        self._breaker = breaker or CircuitBreaker()
        self._sleep = sleep
        headers = {"accept": "application/json", "user-agent": "campaign-service"}
        if token:
            headers["authorization"] = f"Bearer {token}"
        self._http = httpx.AsyncClient(
            base_url=base_url,
            headers=headers,
            timeout=(timeouts or Timeouts()).to_httpx(),
            limits=httpx.Limits(
                max_connections=max_connections, max_keepalive_connections=max_connections
            ),
        )

    @property
    def circuit_state(self) -> CircuitState:
        """For health reporting: OPEN means calls currently fail without reaching the upstream."""
        return self._breaker.state

    async def get_json(self, path: str, *, params: Mapping[str, str] | None = None) -> Any:
        return self._decode(await self._send("GET", path, params=params))

    async def post_json(self, path: str, body: dict[str, Any]) -> Any:
        return self._decode(
            await self._send(
                "POST",
                path,
                content=orjson.dumps(body),
                headers={"content-type": "application/json"},
            )
        )

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> UpstreamClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """The response of the first attempt the upstream answered (2xx/3xx), after retries."""
        failure: _Failure | None = None
        attempts = 0
        while attempts < self._retry.attempts:
            if failure is not None:
                wait = self._retry.delay(attempts, failure.retry_after)
                if wait is None:
                    break
                await self._sleep(wait)
            try:
                self._breaker.before_call()
            except CircuitOpenError as exc:
                raise self._circuit_open(failure) from (failure.cause if failure else exc)
            attempts += 1
            outcome = await self._attempt(method, path, **kwargs)
            if isinstance(outcome, httpx.Response):
                return outcome
            failure = outcome
            log.debug("%s: %s %s attempt %d: %s", self.name, method, path, attempts, failure)
            if not failure.retryable:
                break
        assert failure is not None  # attempts >= 1, so the loop ran and failed
        raise self._exhausted(failure, attempts) from failure.cause

    async def _attempt(self, method: str, path: str, **kwargs: Any) -> httpx.Response | _Failure:
        try:
            response = await self._http.request(method, path, **kwargs)
        except RETRYABLE_ERRORS as exc:
            self._breaker.record_failure()
            return _Failure(_describe(exc), exc, retryable=True)
        except httpx.HTTPError as exc:
            self._breaker.record_failure()
            return _Failure(_describe(exc), exc, retryable=False)
        except BaseException:
            self._breaker.abandon()  # cancelled: no verdict on the upstream
            raise
        status = response.status_code
        if status < 500 and status != 429:
            self._breaker.record_success()  # even a 4xx proves the upstream is alive
            if status >= 400:
                raise UpstreamRejectedError(self.name, status, response.text[:MAX_DETAIL].strip())
            return response
        self._breaker.record_failure()
        return _Failure(
            f"HTTP {status}",
            httpx.HTTPStatusError(f"HTTP {status}", request=response.request, response=response),
            retryable=status in RETRYABLE_STATUSES,
            retry_after=parse_retry_after(response.headers.get("retry-after")),
        )

    def _exhausted(self, failure: _Failure, attempts: int) -> UpstreamUnavailableError:
        metadata = {"attempts": str(attempts), "cause": failure.description}
        if failure.retry_after is not None:
            metadata["retry_after"] = f"{failure.retry_after:g}"
        return UpstreamUnavailableError(
            self.name,
            f"unavailable after {attempts} attempt(s): {failure.description}",
            metadata=metadata,
        )

    def _circuit_open(self, failure: _Failure | None) -> UpstreamUnavailableError:
        cause = failure.description if failure else "consecutive failures"
        return UpstreamUnavailableError(
            self.name,
            f"circuit open after {cause}; not calling until a probe succeeds",
            metadata={"circuit": "open", "cause": cause},
        )

    def _decode(self, response: httpx.Response) -> Any:
        try:
            return orjson.loads(response.content)
        except orjson.JSONDecodeError as exc:
            raise UpstreamBadResponseError(
                self.name,
                f"{response.request.method} {response.request.url.path}: body is not JSON",
            ) from exc


def _describe(exc: Exception) -> str:
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
