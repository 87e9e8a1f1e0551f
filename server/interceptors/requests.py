"""Every campaign.v1 request is checked before its handler runs: bytes that do not decode, the
content problems server/mappers/request_checks.py finds (NUL characters, out-of-range timestamps
and durations, Structs nested too deep), and the caps of server/request_limits.py become
INVALID_ARGUMENT instead of UNKNOWN, INTERNAL or unbounded work.

gRPC decodes a request outside the handler, and an exception there reaches the client as UNKNOWN
with nothing logged. So the request deserializer is wrapped: on a problem it returns a
`RejectedRequest` marker instead of raising, and the handler wrapper raises the marker's error
inside the call, where the error interceptor maps it like any other (this interceptor is the
innermost, so authentication still comes first). The wrapped deserializer travels outwards: every
outer interceptor copies the deserializer of the handler it wraps.

Client-streamed messages (UpsertContacts) are checked for decoding and caps here, each as it
arrives (a stream is cut at its first oversized message); their content is validated per message
by the use case, so one bad contact is reported with its index while the
others are stored.

Cost on the hot read paths: a message type that holds no Timestamp, Duration or Struct is walked
only when its bytes contain a 0x00 byte at all (`needs_walk`), and strings are only looked at
then: a GetCampaignRequest pays one byte search (about 1 us in all). The walk is bounded
(request_checks.MAX_VISITS).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import grpc
from google.protobuf.message import DecodeError, Message

from domain.kernel.errors import FieldViolation, InvalidArgumentError
from server.interceptors.wrapping import HandlerWrappingInterceptor
from server.mappers.request_checks import needs_walk, request_violations
from server.request_limits import check_request

CHECKED_SERVICES = "/campaign.v1."


class RejectedRequest:
    """What the wrapped deserializer returns instead of raising; raised again inside the call."""

    __slots__ = ("error",)

    def __init__(self, error: Exception) -> None:
        self.error = error


def checked_deserializer(
    deserialize: Callable[[bytes], Message], *, check_content: bool
) -> Callable[[bytes], Message | RejectedRequest]:
    descriptor = getattr(getattr(deserialize, "__self__", None), "DESCRIPTOR", None)
    name = getattr(descriptor, "full_name", "request message")
    always = descriptor is None or needs_walk(descriptor)  # decided once per method

    def run(data: bytes) -> Message | RejectedRequest:
        try:
            message = deserialize(data)
        except DecodeError:
            return RejectedRequest(
                InvalidArgumentError(
                    [FieldViolation("request", f"is not a valid {name}")],
                    f"request is not a valid {name}",
                )
            )
        except Exception as exc:  # a bug: re-raised in the call, so it is logged as one
            return RejectedRequest(exc)
        strings = b"\x00" in data
        if check_content and (always or strings):
            try:
                violations = request_violations(message, strings=strings)
            except Exception as exc:
                return RejectedRequest(exc)
            if violations:
                return RejectedRequest(InvalidArgumentError(violations))
        return message

    return run


def _unary(behavior: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
    async def run(request: Any, context: grpc.aio.ServicerContext) -> Any:
        if isinstance(request, RejectedRequest):
            raise request.error
        check_request(request)
        return await behavior(request, context)

    return run


def _server_streaming(
    behavior: Callable[..., AsyncIterator[Any]],
) -> Callable[..., AsyncIterator[Any]]:
    async def run(request: Any, context: grpc.aio.ServicerContext) -> AsyncIterator[Any]:
        if isinstance(request, RejectedRequest):
            raise request.error
        check_request(request)
        async for item in behavior(request, context):
            yield item

    return run


async def _checked_stream(requests: AsyncIterator[Any]) -> AsyncIterator[Any]:
    async for request in requests:
        if isinstance(request, RejectedRequest):
            raise request.error
        check_request(request)
        yield request


def _client_streaming(behavior: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
    async def run(requests: AsyncIterator[Any], context: grpc.aio.ServicerContext) -> Any:
        return await behavior(_checked_stream(requests), context)

    return run


def _bidi_streaming(
    behavior: Callable[..., AsyncIterator[Any]],
) -> Callable[..., AsyncIterator[Any]]:
    async def run(requests: AsyncIterator[Any], context: grpc.aio.ServicerContext) -> Any:
        async for item in behavior(_checked_stream(requests), context):
            yield item

    return run


def checked_handler(handler: grpc.RpcMethodHandler) -> grpc.RpcMethodHandler:
    common = {
        "request_deserializer": checked_deserializer(
            handler.request_deserializer, check_content=not handler.request_streaming
        ),
        "response_serializer": handler.response_serializer,
    }
    if handler.unary_unary:
        return grpc.unary_unary_rpc_method_handler(_unary(handler.unary_unary), **common)
    if handler.unary_stream:
        return grpc.unary_stream_rpc_method_handler(
            _server_streaming(handler.unary_stream), **common
        )
    if handler.stream_unary:
        return grpc.stream_unary_rpc_method_handler(
            _client_streaming(handler.stream_unary), **common
        )
    return grpc.stream_stream_rpc_method_handler(_bidi_streaming(handler.stream_stream), **common)


class RequestCheckInterceptor(HandlerWrappingInterceptor):
    """Innermost interceptor: see the module docstring."""

    def applies_to(self, method: str) -> bool:
        return method.startswith(CHECKED_SERVICES)

    def wrap(self, handler: grpc.RpcMethodHandler, method: str) -> grpc.RpcMethodHandler:
        return checked_handler(handler)
