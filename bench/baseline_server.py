"""The baseline: a trivial grpc.aio server on uvloop, one unary method, no database.

It answers every call with the same small bytes through a generic handler without serializers,
so what it measures is the cost of gRPC itself on this machine: the ceiling any real handler is
compared against. Run as `python -m bench.baseline_server`; it prints `listening on HOST:PORT`
and stops on SIGTERM.
"""

from __future__ import annotations

import asyncio
import signal
import sys

import grpc
import uvloop

SERVICE = "bench.v1.Baseline"
METHOD = f"/{SERVICE}/Unary"
HOST = "127.0.0.1"
# A small fixed protobuf-shaped answer (field 1, a 32-byte string).
RESPONSE = b"\x0a\x20" + b"b" * 32


async def _unary(request: bytes, context: grpc.aio.ServicerContext) -> bytes:
    return RESPONSE


async def serve() -> int:
    server = grpc.aio.server()
    server.add_generic_rpc_handlers(
        (
            grpc.method_handlers_generic_handler(
                SERVICE, {"Unary": grpc.unary_unary_rpc_method_handler(_unary)}
            ),
        )
    )
    port = server.add_insecure_port(f"{HOST}:0")
    await server.start()
    print(f"baseline listening on {HOST}:{port}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await server.stop(1)
    return 0


if __name__ == "__main__":
    sys.exit(uvloop.run(serve()))
