"""The resilient HTTP core against a real local server: retries, timeouts, breaker, Retry-After."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import httpx
import pytest

from adapters.http import (
    CircuitBreaker,
    CircuitState,
    RetryPolicy,
    Timeouts,
    UpstreamBadResponseError,
    UpstreamClient,
    UpstreamRejectedError,
    UpstreamUnavailableError,
)
from adapters.http.retry import parse_retry_after
from domain.kernel.errors import DependencyUnavailableError
from tests.support.fake_upstreams import COUNT, SERVICE_UNAVAILABLE, FakeUpstreams, Fault

ORG = "org-1"
COUNT_PATH = "/v1/intelligent_query/count"
BODY = {"organization_id": ORG, "segment_id": "seg"}


def fast_client(base_url: str, **overrides: Any) -> UpstreamClient:
    """Production code paths with test-sized numbers: millisecond backoffs, sub-second timeouts."""
    options: dict[str, Any] = {
        "timeouts": Timeouts(connect=0.5, read=0.5),
        "retry": RetryPolicy(attempts=3, base_delay=0.01, max_delay=0.05, retry_after_cap=2.0),
        "breaker": CircuitBreaker(failure_threshold=50, reset_timeout=1.0),
        **overrides,
    }
    return UpstreamClient("isA_Data", base_url, **options)


@pytest.fixture
def fake() -> Iterator[FakeUpstreams]:
    with FakeUpstreams().running() as upstream:
        upstream.add_segment(ORG, "seg", ["u1", "u2", "u3"])
        yield upstream


@pytest.fixture
async def client(fake: FakeUpstreams) -> AsyncIterator[UpstreamClient]:
    async with fast_client(fake.base_url) as upstream:
        yield upstream


async def count(client: UpstreamClient) -> Any:
    return (await client.post_json(COUNT_PATH, BODY))["count"]


# --- retries -------------------------------------------------------------------------------


async def test_two_503s_then_200_succeeds_on_the_third_request(
    fake: FakeUpstreams, client: UpstreamClient
) -> None:
    fake.fail_next(COUNT, SERVICE_UNAVAILABLE, SERVICE_UNAVAILABLE)

    assert await count(client) == 3
    assert fake.count(COUNT) == 3


@pytest.mark.parametrize("status", [429, 502, 503, 504])
async def test_transient_statuses_are_retried(
    fake: FakeUpstreams, client: UpstreamClient, status: int
) -> None:
    fake.fail_next(COUNT, Fault(status=status))

    assert await count(client) == 3
    assert fake.count(COUNT) == 2


async def test_a_dropped_connection_is_retried(fake: FakeUpstreams, client: UpstreamClient) -> None:
    fake.fail_next(COUNT, Fault(drop=True))

    assert await count(client) == 3
    assert fake.count(COUNT) == 2


@pytest.mark.parametrize("status", [400, 404, 409, 422])
async def test_other_4xx_are_rejected_without_retry(
    fake: FakeUpstreams, client: UpstreamClient, status: int
) -> None:
    fake.fail_next(COUNT, Fault(status=status, body=b'{"error": "bad field"}'))

    with pytest.raises(UpstreamRejectedError) as raised:
        await count(client)

    assert fake.count(COUNT) == 1
    assert isinstance(raised.value, DependencyUnavailableError)
    assert raised.value.status == status
    assert raised.value.metadata == {"upstream": "isA_Data", "status": str(status)}
    assert "bad field" in raised.value.message


async def test_a_500_is_not_retried_but_reported_unavailable(
    fake: FakeUpstreams, client: UpstreamClient
) -> None:
    fake.fail_next(COUNT, Fault(status=500))

    with pytest.raises(UpstreamUnavailableError):
        await count(client)
    assert fake.count(COUNT) == 1


async def test_exhausted_retries_name_the_upstream_and_chain_the_cause(
    fake: FakeUpstreams, client: UpstreamClient
) -> None:
    fake.fail_always(COUNT, SERVICE_UNAVAILABLE)

    with pytest.raises(DependencyUnavailableError) as raised:
        await count(client)

    assert fake.count(COUNT) == 3
    assert raised.value.metadata["upstream"] == "isA_Data"
    assert raised.value.metadata["attempts"] == "3"
    assert raised.value.message.startswith("isA_Data: ")
    assert isinstance(raised.value.__cause__, httpx.HTTPStatusError)


async def test_backoff_grows_exponentially_with_jitter_and_a_ceiling() -> None:
    policy = RetryPolicy(base_delay=0.1, max_delay=0.5)

    for retry, step in [(1, 0.1), (2, 0.2), (3, 0.4), (4, 0.5), (9, 0.5)]:
        delays = {policy.backoff(retry) for _ in range(50)}
        assert all(step / 2 <= d <= step for d in delays)
        assert len(delays) > 1  # jittered


# --- timeouts and dead hosts ---------------------------------------------------------------


async def test_a_slow_upstream_times_out_within_a_bounded_time(fake: FakeUpstreams) -> None:
    fake.fail_always(COUNT, Fault(delay=5.0))
    slow = fast_client(fake.base_url, timeouts=Timeouts(connect=0.2, read=0.2))
    started = time.monotonic()

    async with slow:
        with pytest.raises(UpstreamUnavailableError) as raised:
            await count(slow)

    assert time.monotonic() - started < 1.5  # 3 attempts x 0.2 s + tiny backoffs
    assert isinstance(raised.value.__cause__, httpx.ReadTimeout)
    assert fake.count(COUNT) == 3


async def test_a_refused_connection_is_unavailable() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # free once closed: nothing listens there

    async with fast_client(f"http://127.0.0.1:{port}") as nowhere:
        with pytest.raises(UpstreamUnavailableError) as raised:
            await count(nowhere)

    assert isinstance(raised.value.__cause__, httpx.ConnectError)


# --- circuit breaker -----------------------------------------------------------------------


def breaker_client(fake: FakeUpstreams) -> UpstreamClient:
    return fast_client(
        fake.base_url,
        retry=RetryPolicy(attempts=1),
        breaker=CircuitBreaker(failure_threshold=3, reset_timeout=0.3),
    )


async def open_the_circuit(fake: FakeUpstreams, client: UpstreamClient) -> None:
    fake.fail_always(COUNT, SERVICE_UNAVAILABLE)
    for _ in range(3):
        with pytest.raises(UpstreamUnavailableError):
            await count(client)
    assert client.circuit_state is CircuitState.OPEN


async def test_the_circuit_opens_after_n_failures_and_then_nothing_reaches_the_upstream(
    fake: FakeUpstreams,
) -> None:
    async with breaker_client(fake) as client:
        await open_the_circuit(fake, client)
        assert fake.count(COUNT) == 3

        for _ in range(20):
            with pytest.raises(UpstreamUnavailableError) as raised:
                await count(client)
            assert raised.value.metadata["circuit"] == "open"

    assert fake.count(COUNT) == 3


async def test_a_successful_half_open_probe_closes_the_circuit(fake: FakeUpstreams) -> None:
    async with breaker_client(fake) as client:
        await open_the_circuit(fake, client)
        fake.fail_always(COUNT, None)
        await asyncio.sleep(0.35)
        assert client.circuit_state is CircuitState.HALF_OPEN

        assert await count(client) == 3  # the probe
        assert client.circuit_state is CircuitState.CLOSED
        assert await count(client) == 3

    assert fake.count(COUNT) == 5


async def test_a_failed_probe_reopens_the_circuit_for_another_cool_down(
    fake: FakeUpstreams,
) -> None:
    async with breaker_client(fake) as client:
        await open_the_circuit(fake, client)
        await asyncio.sleep(0.35)

        with pytest.raises(UpstreamUnavailableError):
            await count(client)  # the probe, still 503
        with pytest.raises(UpstreamUnavailableError):
            await count(client)  # refused locally

        assert client.circuit_state is CircuitState.OPEN
    assert fake.count(COUNT) == 4


async def test_half_open_lets_exactly_one_probe_through(fake: FakeUpstreams) -> None:
    async with breaker_client(fake) as client:
        await open_the_circuit(fake, client)
        fake.fail_always(COUNT, None)
        fake.fail_next(COUNT, Fault(delay=0.2))  # a slow but good probe
        await asyncio.sleep(0.35)

        outcomes = await asyncio.gather(*(count(client) for _ in range(5)), return_exceptions=True)

    assert outcomes.count(3) == 1
    assert all(isinstance(o, UpstreamUnavailableError) for o in outcomes if o != 3)
    assert fake.count(COUNT) == 4
    assert client.circuit_state is CircuitState.CLOSED


async def test_retries_stop_as_soon_as_the_circuit_opens(fake: FakeUpstreams) -> None:
    fake.fail_always(COUNT, SERVICE_UNAVAILABLE)
    breaker = CircuitBreaker(failure_threshold=2, reset_timeout=10)

    async with fast_client(fake.base_url, retry=RetryPolicy(attempts=5), breaker=breaker) as c:
        with pytest.raises(UpstreamUnavailableError) as raised:
            await count(c)

    assert fake.count(COUNT) == 2
    assert raised.value.metadata["circuit"] == "open"


# --- Retry-After ---------------------------------------------------------------------------


async def test_retry_after_is_honoured(fake: FakeUpstreams, client: UpstreamClient) -> None:
    fake.fail_next(COUNT, Fault(status=429, headers={"Retry-After": "1"}))

    assert await count(client) == 3

    first, second = fake.of(COUNT)
    assert 0.95 <= second.at - first.at < 1.5


async def test_a_retry_after_beyond_the_cap_fails_at_once(
    fake: FakeUpstreams, client: UpstreamClient
) -> None:
    fake.fail_next(COUNT, Fault(status=503, headers={"Retry-After": "120"}))
    started = time.monotonic()

    with pytest.raises(UpstreamUnavailableError) as raised:
        await count(client)

    assert time.monotonic() - started < 0.5
    assert fake.count(COUNT) == 1
    assert raised.value.metadata["retry_after"] == "120"


def test_retry_after_accepts_seconds_and_http_dates() -> None:
    now = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)

    assert parse_retry_after("7") == 7.0
    assert (
        parse_retry_after(format_datetime(now + timedelta(seconds=30), usegmt=True), now=now) == 30
    )
    assert (
        parse_retry_after(format_datetime(now - timedelta(seconds=30), usegmt=True), now=now) == 0
    )
    assert parse_retry_after("soon") is None
    assert parse_retry_after("inf") is None


# --- auth and bodies -----------------------------------------------------------------------


async def test_the_bearer_token_is_sent_and_a_wrong_one_is_rejected_once() -> None:
    with FakeUpstreams(token="s3cret").running() as fake:
        fake.add_segment(ORG, "seg", ["u1"])
        async with fast_client(fake.base_url, token="s3cret") as good:
            assert await count(good) == 1
        async with fast_client(fake.base_url, token="wrong") as bad:
            with pytest.raises(UpstreamRejectedError) as raised:
                await count(bad)

    assert raised.value.status == 401
    assert [r.headers["authorization"] for r in fake.of(COUNT)] == [
        "Bearer s3cret",
        "Bearer wrong",
    ]


async def test_a_body_that_is_not_json_is_a_bad_response(
    fake: FakeUpstreams, client: UpstreamClient
) -> None:
    fake.fail_next(COUNT, Fault(body=b"<html>gateway</html>"))

    with pytest.raises(UpstreamBadResponseError):
        await count(client)
