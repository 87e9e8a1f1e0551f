"""InterceptorPipeline: the layers wrap a method's handler once, outermost first, as a chain of
interceptors would, and each hears of calls to methods no handler serves."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import grpc

from server.interceptors.wrapping import InterceptorPipeline, ScopeInterceptor

METHOD = "/campaign.v1.CampaignService/GetCampaign"


class Recording(ScopeInterceptor):
    def __init__(self, name: str, log: list[str], *, only: str = "") -> None:
        super().__init__()
        self.name, self.log, self.only, self.unknown = name, log, only, 0

    def applies_to(self, method: str) -> bool:
        return not self.only or method.startswith(self.only)

    def unknown_method(self) -> None:
        self.unknown += 1

    @asynccontextmanager
    async def scope(self, context: Any, method: str) -> AsyncIterator[None]:
        self.log.append(f"{self.name} in")
        yield
        self.log.append(f"{self.name} out")


class Details:
    def __init__(self, method: str) -> None:
        self.method = method


def handler_for(log: list[str]) -> grpc.RpcMethodHandler:
    async def behavior(request: Any, context: Any) -> str:
        log.append("handler")
        return f"answer to {request}"

    return grpc.unary_unary_rpc_method_handler(behavior)


async def test_layers_run_outermost_first_around_the_handler() -> None:
    log: list[str] = []
    outer, inner = Recording("outer", log), Recording("inner", log)
    skipped = Recording("skipped", log, only="/grpc.health.v1.Health/")
    pipeline = InterceptorPipeline([outer, skipped, inner])
    handler = handler_for(log)

    async def continuation(details: Any) -> grpc.RpcMethodHandler:
        return handler

    wrapped = await pipeline.intercept_service(continuation, Details(METHOD))  # type: ignore[arg-type]
    answer = await wrapped.unary_unary("q", object())

    assert answer == "answer to q"
    assert log == ["outer in", "inner in", "handler", "inner out", "outer out"]
    again = await pipeline.intercept_service(continuation, Details(METHOD))  # type: ignore[arg-type]
    assert again is wrapped  # wrapped once per method


async def test_every_layer_hears_of_an_unknown_method() -> None:
    layers = [Recording("a", []), Recording("b", [])]
    pipeline = InterceptorPipeline(layers)

    async def continuation(details: Any) -> None:
        return None

    found = await pipeline.intercept_service(continuation, Details("/x.Y/Z"))  # type: ignore[arg-type]

    assert found is None
    assert [layer.unknown for layer in layers] == [1, 1]
