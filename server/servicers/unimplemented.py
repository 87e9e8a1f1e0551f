"""Explicit UNIMPLEMENTED answers for RPCs that are declared but not built yet.

The generated base servicers raise NotImplementedError, which the error interceptor would rightly
report as INTERNAL; these stubs abort with UNIMPLEMENTED and say what is missing instead.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import grpc
from google.protobuf.descriptor import ServiceDescriptor

# What is missing, in the caller's words, by "Service.Method" or by service. Each entry says what
# this version does not do, never when it will: a promise in an error message goes stale.
# Every RPC of campaign.v1 is built in this version, so there is nothing to say yet.
MISSING: dict[str, str] = {}
NOT_BUILT = "it is not built in this version"


def _message(service: str, method: str) -> str:
    reason = MISSING.get(f"{service}.{method}") or MISSING.get(service) or NOT_BUILT
    return f"{service}.{method} is declared in campaign.v1 but not implemented: {reason}"


def unary_stub(service: str, method: str) -> Callable[..., Any]:
    async def stub(self: object, request: object, context: grpc.aio.ServicerContext) -> None:
        await context.abort(grpc.StatusCode.UNIMPLEMENTED, _message(service, method))

    return stub


def streaming_stub(service: str, method: str) -> Callable[..., AsyncIterator[Any]]:
    async def stub(
        self: object, request: object, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[Any]:
        await context.abort(grpc.StatusCode.UNIMPLEMENTED, _message(service, method))
        yield  # pragma: no cover - makes this an async generator, as streaming handlers are

    return stub


def with_unimplemented(
    base: type, descriptor: ServiceDescriptor, implemented: set[str] | None = None
) -> type:
    """A subclass of `base` whose every method not in `implemented` answers UNIMPLEMENTED."""
    implemented = implemented or set()
    namespace: dict[str, Any] = {}
    for method in descriptor.methods:
        if method.name in implemented:
            continue
        make = streaming_stub if method.server_streaming else unary_stub
        namespace[method.name] = make(descriptor.name, method.name)
    return type(f"Unimplemented{descriptor.name}", (base,), namespace)
