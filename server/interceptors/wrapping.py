"""Run code around every RPC's handler, whatever its streaming shape.

grpc.aio interceptors only see the handler, not the call; to catch the handler's exceptions or
set context variables in the task that runs it, the handler's behavior itself is wrapped.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any

import grpc

Scope = Callable[[grpc.aio.ServicerContext, str], AbstractAsyncContextManager[None]]


def wrap_handler(
    handler: grpc.RpcMethodHandler, method: str, scope: Scope
) -> grpc.RpcMethodHandler:
    common = {
        "request_deserializer": handler.request_deserializer,
        "response_serializer": handler.response_serializer,
    }
    if handler.unary_unary:
        return grpc.unary_unary_rpc_method_handler(
            _unary(handler.unary_unary, method, scope), **common
        )
    if handler.stream_unary:
        return grpc.stream_unary_rpc_method_handler(
            _unary(handler.stream_unary, method, scope), **common
        )
    if handler.unary_stream:
        return grpc.unary_stream_rpc_method_handler(
            _stream(handler.unary_stream, method, scope), **common
        )
    return grpc.stream_stream_rpc_method_handler(
        _stream(handler.stream_stream, method, scope), **common
    )


def _unary(
    behavior: Callable[..., Awaitable[Any]], method: str, scope: Scope
) -> Callable[..., Awaitable[Any]]:
    async def run(request: Any, context: grpc.aio.ServicerContext) -> Any:
        async with scope(context, method):
            return await behavior(request, context)

    return run


def _stream(
    behavior: Callable[..., AsyncIterator[Any]], method: str, scope: Scope
) -> Callable[..., AsyncIterator[Any]]:
    async def run(request: Any, context: grpc.aio.ServicerContext) -> AsyncIterator[Any]:
        async with scope(context, method):
            async for item in behavior(request, context):
                yield item

    return run


class HandlerWrappingInterceptor(grpc.aio.ServerInterceptor):
    """Base: subclasses define `wrap`, which builds a new handler around gRPC's.

    The wrapped handler is built once per (method, inner handler) and reused: gRPC asks the
    interceptor on every call, and rebuilding three layers of handlers each time was measurable.
    """

    def __init__(self) -> None:
        self._alone = InterceptorPipeline((self,))  # used as an interceptor of its own

    def wrap(self, handler: grpc.RpcMethodHandler, method: str) -> grpc.RpcMethodHandler:
        raise NotImplementedError

    def applies_to(self, method: str) -> bool:
        return True

    def unknown_method(self) -> None:
        """A call to a method no handler serves (gRPC answers UNIMPLEMENTED itself)."""

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        return await self._alone.intercept_service(continuation, handler_call_details)


class ScopeInterceptor(HandlerWrappingInterceptor):
    """Base: subclasses define `scope`, an async context manager around each call."""

    def scope(
        self, context: grpc.aio.ServicerContext, method: str
    ) -> AbstractAsyncContextManager[None]:
        raise NotImplementedError

    def wrap(self, handler: grpc.RpcMethodHandler, method: str) -> grpc.RpcMethodHandler:
        return wrap_handler(handler, method, self.scope)


class InterceptorPipeline(grpc.aio.ServerInterceptor):
    """Layers run as one interceptor: gRPC asks it for a handler once per call.

    grpc.aio runs every interceptor's `intercept_service` as a coroutine of its own on every
    call, each awaiting the next, only to return a handler that changes when the method does.
    The pipeline asks gRPC for the method's handler, wraps it through every layer once per
    method (outermost first, each where it `applies_to` the method) and hands out that wrapped
    handler from then on: what each layer does around a call is unchanged, the chain of
    coroutines in front of it is gone (docs/performance.md, "The second pass").
    """

    def __init__(self, layers: Sequence[HandlerWrappingInterceptor]) -> None:
        """`layers`: outermost first, as they would be given to grpc.aio.server."""
        self._layers = tuple(layers)
        self._wrapped: dict[str, tuple[grpc.RpcMethodHandler, grpc.RpcMethodHandler]] = {}

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        handler = await continuation(handler_call_details)
        if handler is None:
            for layer in self._layers:
                layer.unknown_method()
            return handler
        method = handler_call_details.method
        cached = self._wrapped.get(method)
        if cached is not None and cached[0] is handler:
            return cached[1]
        wrapped = handler
        for layer in reversed(self._layers):
            if layer.applies_to(method):
                wrapped = layer.wrap(wrapped, method)
        self._wrapped[method] = (handler, wrapped)
        return wrapped
