"""Checks every request message against server.request_limits before its handler runs.

Unary requests are checked once; a client stream's messages each as they arrive, so a stream is
cut at its first oversized message instead of after it was read to the end. Placed after
authentication: an anonymous caller learns nothing about the caps.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import grpc

from server.request_limits import check_request


def _unary(behavior: Callable[..., Any]) -> Callable[..., Any]:
    async def run(request: Any, context: grpc.aio.ServicerContext) -> Any:
        check_request(request)
        return await behavior(request, context)

    return run


def _server_stream(behavior: Callable[..., AsyncIterator[Any]]) -> Callable[..., Any]:
    async def run(request: Any, context: grpc.aio.ServicerContext) -> AsyncIterator[Any]:
        check_request(request)
        async for item in behavior(request, context):
            yield item

    return run


async def _checked(requests: AsyncIterator[Any]) -> AsyncIterator[Any]:
    async for request in requests:
        check_request(request)
        yield request


def _client_stream(behavior: Callable[..., Any]) -> Callable[..., Any]:
    async def run(requests: AsyncIterator[Any], context: grpc.aio.ServicerContext) -> Any:
        return await behavior(_checked(requests), context)

    return run


def _bidi(behavior: Callable[..., AsyncIterator[Any]]) -> Callable[..., Any]:
    async def run(requests: AsyncIterator[Any], context: grpc.aio.ServicerContext) -> Any:
        async for item in behavior(_checked(requests), context):
            yield item

    return run


def with_limits(handler: grpc.RpcMethodHandler) -> grpc.RpcMethodHandler:
    common = {
        "request_deserializer": handler.request_deserializer,
        "response_serializer": handler.response_serializer,
    }
    if handler.unary_unary:
        return grpc.unary_unary_rpc_method_handler(_unary(handler.unary_unary), **common)
    if handler.stream_unary:
        return grpc.stream_unary_rpc_method_handler(_client_stream(handler.stream_unary), **common)
    if handler.unary_stream:
        return grpc.unary_stream_rpc_method_handler(_server_stream(handler.unary_stream), **common)
    return grpc.stream_stream_rpc_method_handler(_bidi(handler.stream_stream), **common)


class RequestLimitsInterceptor(grpc.aio.ServerInterceptor):
    """Wraps each handler once per method (gRPC asks on every call)."""

    def __init__(self) -> None:
        self._wrapped: dict[str, tuple[grpc.RpcMethodHandler, grpc.RpcMethodHandler]] = {}

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        handler = await continuation(handler_call_details)
        method = handler_call_details.method
        if handler is None or method.startswith("/grpc."):
            return handler
        cached = self._wrapped.get(method)
        if cached is not None and cached[0] is handler:
            return cached[1]
        wrapped = with_limits(handler)
        self._wrapped[method] = (handler, wrapped)
        return wrapped
