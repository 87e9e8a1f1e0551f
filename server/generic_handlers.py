"""Services served through generic handlers only, never as gRPC "registered methods".

The stubs grpcio-tools generates (1.6x and later) hand every method to the server twice: as a
generic handler and as a registered method. grpc.aio's server then keeps one pending request per
registered method and, for every call it accepts, waits on all of them again (an
`asyncio.wait` over one future per method: about forty here, each given and relieved of a done
callback), so accepting a call cost time in proportion to the size of the API. The generic
handler serves the same methods with the same handlers; this server takes only that one
(docs/performance.md, "Where a Get's CPU goes").
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import grpc


class GenericHandlersOnly:
    """What a generated `add_XServicer_to_server` needs of a server, keeping only its generic
    handlers."""

    def __init__(self, server: grpc.aio.Server) -> None:
        self._server = server

    def add_generic_rpc_handlers(self, handlers: Sequence[grpc.GenericRpcHandler]) -> None:
        self._server.add_generic_rpc_handlers(handlers)

    def add_registered_method_handlers(self, service: str, handlers: dict[str, Any]) -> None:
        """The same handlers arrive through add_generic_rpc_handlers."""
