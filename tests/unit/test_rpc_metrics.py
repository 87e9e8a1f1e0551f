"""The RPC metrics interceptor on a real grpc.aio server (loopback, port 0): every call is
counted and timed by its method and final code (OK, an abort's code, UNKNOWN for a crash,
CANCELLED for a caller that left), and a method the server does not have counts as `unknown`,
so callers cannot grow the label set."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import grpc
import pytest

from server.interceptors.rpc_metrics import RpcMetricsInterceptor
from server.observability.prometheus import ServiceMetrics

SERVICE = "test.Probe"


def method(name: str) -> str:
    return f"/{SERVICE}/{name}"


async def ok(request: bytes, context: grpc.aio.ServicerContext) -> bytes:
    return request


async def missing(request: bytes, context: grpc.aio.ServicerContext) -> bytes:
    await context.abort(grpc.StatusCode.NOT_FOUND, "no such thing")
    raise AssertionError("abort raises")


async def crash(request: bytes, context: grpc.aio.ServicerContext) -> bytes:
    raise RuntimeError("a bug")


async def slow(request: bytes, context: grpc.aio.ServicerContext) -> bytes:
    await asyncio.sleep(30)
    return request


@pytest.fixture
async def served() -> AsyncIterator[tuple[ServiceMetrics, grpc.aio.Channel]]:
    metrics = ServiceMetrics()
    server = grpc.aio.server(interceptors=[RpcMetricsInterceptor(metrics)])
    handlers = {
        name: grpc.unary_unary_rpc_method_handler(behavior)
        for name, behavior in {"Ok": ok, "Missing": missing, "Crash": crash, "Slow": slow}.items()
    }
    server.add_generic_rpc_handlers([grpc.method_handlers_generic_handler(SERVICE, handlers)])
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            yield metrics, channel
    finally:
        await server.stop(0)


def handled(metrics: ServiceMetrics, name: str, code: str) -> float:
    value = metrics.registry.get_sample_value(
        "campaign_rpc_handled_total", {"method": name, "code": code}
    )
    return value or 0.0


def timed(metrics: ServiceMetrics, name: str, code: str) -> float:
    value = metrics.registry.get_sample_value(
        "campaign_rpc_duration_seconds_count", {"method": name, "code": code}
    )
    return value or 0.0


async def call(channel: grpc.aio.Channel, name: str, deadline: float = 10.0) -> grpc.StatusCode:
    try:
        await channel.unary_unary(method(name))(b"x", timeout=deadline)
    except grpc.aio.AioRpcError as error:
        return error.code()
    return grpc.StatusCode.OK


async def test_calls_are_counted_and_timed_by_method_and_code(
    served: tuple[ServiceMetrics, grpc.aio.Channel],
) -> None:
    metrics, channel = served
    assert [await call(channel, "Ok") for _ in range(3)] == [grpc.StatusCode.OK] * 3
    assert await call(channel, "Missing") == grpc.StatusCode.NOT_FOUND
    assert await call(channel, "Crash") == grpc.StatusCode.UNKNOWN

    assert handled(metrics, method("Ok"), "OK") == 3
    assert timed(metrics, method("Ok"), "OK") == 3
    assert handled(metrics, method("Missing"), "NOT_FOUND") == 1
    assert timed(metrics, method("Missing"), "NOT_FOUND") == 1
    assert handled(metrics, method("Crash"), "UNKNOWN") == 1
    started = metrics.registry.get_sample_value(
        "campaign_rpc_started_total", {"method": method("Ok")}
    )
    assert started == 3


async def test_an_unknown_method_counts_as_unknown_whatever_its_name(
    served: tuple[ServiceMetrics, grpc.aio.Channel],
) -> None:
    metrics, channel = served
    for name in ("/no.Such/Thing", "/another/one", method("Nope")):
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await channel.unary_unary(name)(b"x", timeout=10)
        assert caught.value.code() == grpc.StatusCode.UNIMPLEMENTED
    assert handled(metrics, "unknown", "UNIMPLEMENTED") == 3
    names = {
        s.labels["method"]
        for family in metrics.registry.collect()
        if family.name == "campaign_rpc_handled"
        for s in family.samples
    }
    assert names == {"unknown"}


async def test_a_caller_that_leaves_counts_as_cancelled(
    served: tuple[ServiceMetrics, grpc.aio.Channel],
) -> None:
    metrics, channel = served
    assert await call(channel, "Slow", deadline=0.3) == grpc.StatusCode.DEADLINE_EXCEEDED
    for _ in range(100):  # the server side notices the deadline on its own
        if handled(metrics, method("Slow"), "CANCELLED"):
            break
        await asyncio.sleep(0.05)
    assert handled(metrics, method("Slow"), "CANCELLED") == 1
