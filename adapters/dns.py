"""HostResolver (domain.campaigns.ports) over the event loop's getaddrinfo: the system resolver,
run in the loop's thread pool so a slow DNS server never blocks other requests."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Sequence

RESOLVE_TIMEOUT_SECONDS = 5.0


class SystemResolver:
    def __init__(self, timeout: float = RESOLVE_TIMEOUT_SECONDS) -> None:
        self._timeout = timeout

    async def resolve(self, host: str) -> Sequence[str]:
        """Every address of `host` (IPv4 and IPv6); empty when it does not resolve in time, which
        the domain treats as a destination it may not send to."""
        loop = asyncio.get_running_loop()
        try:
            infos = await asyncio.wait_for(
                loop.getaddrinfo(host, 443, type=socket.SOCK_STREAM), self._timeout
            )
        except (OSError, TimeoutError, UnicodeError):
            return []
        return sorted({str(info[4][0]) for info in infos})
