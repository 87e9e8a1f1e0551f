"""The service's interceptors as one interceptor: gRPC asks it for a handler once per call.

grpc.aio runs every interceptor's `intercept_service` as a coroutine of its own on every call,
each awaiting the next (five here), only to return a handler that changes when the method does.
The pipeline asks gRPC for the method's handler, wraps it through every layer once per method
(outermost first, each where it `applies_to` the method) and hands out that wrapped handler
from then on: what each layer does around a call is unchanged, the chain of coroutines in front
of it is gone (docs/performance.md, "Where a Get's CPU goes").
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

import grpc

from server.interceptors.wrapping import HandlerWrappingInterceptor


class InterceptorPipeline(grpc.aio.ServerInterceptor):
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
