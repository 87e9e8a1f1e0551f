"""The supervisor's hold on a port its workers share.

First the address is tried without SO_REUSEPORT (server.listen_address.ensure_bindable): any
listener there, whether it set SO_REUSEPORT or not, makes that bind fail, so a port taken by
someone else stops the start with one line naming it, before a worker exists. Then the
supervisor binds the address itself with SO_REUSEPORT, without listening: port 0 becomes the
one concrete port every worker is given, and while the supervisor lives no process without
SO_REUSEPORT (and the same user) can take the port between a worker's exit and its restart.
A bound socket that does not listen never receives a connection: the kernel spreads them over
the workers only.
"""

from __future__ import annotations

import errno
import socket
from dataclasses import dataclass, field
from typing import Any

from server.listen_address import ensure_bindable, refusal
from server.startup import StartupError


@dataclass
class PortReservation:
    address: str  # host:port, the port concrete
    sockets: list[socket.socket] = field(default_factory=list)

    def close(self) -> None:
        for sock in self.sockets:
            sock.close()


def hold(family: int, kind: int, proto: int, sockaddr: tuple[Any, ...]) -> socket.socket:
    """A socket bound to `sockaddr` with SO_REUSEPORT, not listening. Without SO_REUSEADDR:
    two sockets with SO_REUSEADDR may share a port while neither listens, so a stranger setting
    only that could bind beside the hold; it is set only when the plain bind fails, which a
    closed connection of an earlier server, still in TIME_WAIT, can cause (no listener is left:
    ensure_bindable checked)."""
    try:
        return bound(family, kind, proto, sockaddr, reuse_address=False)
    except OSError as exc:
        if exc.errno != errno.EADDRINUSE:
            raise
    return bound(family, kind, proto, sockaddr, reuse_address=True)


def bound(
    family: int, kind: int, proto: int, sockaddr: tuple[Any, ...], *, reuse_address: bool
) -> socket.socket:
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        if reuse_address:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(sockaddr)
    except OSError:
        sock.close()
        raise
    return sock


def reserve(address: str, setting: str) -> PortReservation:
    """Hold `address` (host:port) for the workers; StartupError naming `setting` when it is not
    host:port or someone else listens there."""
    host, _, port_text = address.rpartition(":")
    if not host or not port_text.isdigit() or host.startswith("unix"):
        raise StartupError(
            f"{setting} must be host:port for worker processes to share it, not {address!r}"
        )
    ensure_bindable(address, setting)
    reservation = PortReservation(address)
    port = int(port_text)
    try:
        candidates = socket.getaddrinfo(
            host.strip("[]") or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )
        for family, kind, proto, _, sockaddr in candidates:
            sock = hold(family, kind, proto, (sockaddr[0], port, *sockaddr[2:]))
            reservation.sockets.append(sock)
            port = sock.getsockname()[1]  # port 0: the first bind picks it for all
    except OSError as exc:
        reservation.close()
        raise refusal(address, (exc.strerror or str(exc)).lower(), setting) from exc
    reservation.address = f"{host}:{port}"
    return reservation
