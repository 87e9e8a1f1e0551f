"""The HTTP server's lifecycle: its socket is bound while the application is built (a taken
address stops the start with a StartupError naming CAMPAIGN_HTTP_ADDRESS, as the gRPC address
does, and port 0 picks a free port the banner then names), it serves once the application
starts and stops with it, on the gRPC server's event loop (aiohttp's AppRunner)."""

from __future__ import annotations

import socket

from aiohttp import web

from server.startup import StartupError

SETTING = "CAMPAIGN_HTTP_ADDRESS"
SHUTDOWN_SECONDS = 5.0


def bind_socket(address: str, *, shared: bool = False) -> socket.socket:
    """`shared`: a worker process of a supervisor, sharing the port with its siblings on purpose
    (docs/worker-processes.md); otherwise a port in use is refused."""
    host, _, port = address.rpartition(":")
    if not host or not port.isdigit():
        raise StartupError(f"{SETTING} must be host:port, not {address!r}")
    try:
        return socket.create_server((host.strip("[]"), int(port)), reuse_port=shared)
    except OSError as exc:
        raise StartupError(
            f"cannot listen on {address} ({SETTING}): {(exc.strerror or str(exc)).lower()}; "
            f"is another campaign-service running there? Stop it or set {SETTING} to a free "
            "host:port"
        ) from exc


class HttpServer:
    def __init__(self, sock: socket.socket) -> None:
        self._socket = sock
        self._runner: web.AppRunner | None = None

    @property
    def address(self) -> str:
        host, port = self._socket.getsockname()[:2]
        return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"

    async def start(self, app: web.Application) -> None:
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=SHUTDOWN_SECONDS)
        await runner.setup()
        await web.SockSite(runner, self._socket).start()
        self._runner = runner

    async def stop(self) -> None:
        """Stop taking requests and close; a socket never served is closed too."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        self._socket.close()
