"""Binding the gRPC port, and refusing one that another process already holds.

gRPC turns SO_REUSEPORT on by default, so a second `campaign-service serve` started on the port
of a running one binds beside it and the kernel splits the connections between the two: half
of the calls land on a server with another secret or another database. The service therefore
binds with `grpc.so_reuseport` off (GRPC_OPTIONS) and a port in use stops the start with a
StartupError naming the address and CAMPAIGN_GRPC_ADDRESS.

Worker processes of one server share the port on purpose (docs/worker-processes.md): they bind
with SHARED_PORT_OPTIONS, after their supervisor refused a port held by anyone else with
`ensure_bindable` (a plain socket without SO_REUSEPORT, which any listener blocks) and then held
it for them (server/processes/reservation.py).

gRPC's own bind failure says only "Failed to bind" (and its core logs the cause on stderr as a
second, unstructured line), so `ensure_bindable` tries the address with a plain socket first,
before anything connects, to name the cause in the one-line refusal; `bind` still turns a
failure of gRPC's own bind (a port taken in between) into the same StartupError.
"""

from __future__ import annotations

import errno
import socket

import grpc

from server.startup import StartupError

SETTING = "CAMPAIGN_GRPC_ADDRESS"
# Off on purpose: one server per port (see the module docstring).
GRPC_OPTIONS: tuple[tuple[str, int], ...] = (("grpc.so_reuseport", 0),)
# On, for the worker processes of one supervisor only.
SHARED_PORT_OPTIONS: tuple[tuple[str, int], ...] = (("grpc.so_reuseport", 1),)


def refusal(address: str, cause: str, setting: str = SETTING) -> StartupError:
    return StartupError(
        f"cannot listen on {address} ({setting}): {cause}; is another campaign-service "
        f"running there? Stop it or set {setting} to a free host:port"
    )


def ensure_bindable(address: str, setting: str = SETTING) -> None:
    """StartupError when `address` (host:port) cannot be bound, for instance because another
    server listens there. Port 0 and forms a plain socket cannot try (unix:...) are left to
    gRPC's bind."""
    host, _, port_text = address.rpartition(":")
    if not port_text.isdigit() or int(port_text) == 0 or host.startswith("unix"):
        return
    try:
        candidates = socket.getaddrinfo(
            host.strip("[]") or None,
            int(port_text),
            type=socket.SOCK_STREAM,
            flags=socket.AI_PASSIVE,
        )
    except (socket.gaierror, UnicodeError) as exc:
        raise refusal(address, f"the host cannot be resolved ({exc})", setting) from exc
    failures: list[OSError] = []
    for family, kind, proto, _, sockaddr in candidates:
        with socket.socket(family, kind, proto) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as gRPC binds
            try:
                probe.bind(sockaddr)
            except OSError as exc:
                failures.append(exc)
    # gRPC serves when one resolved address binds, but one held by another server (localhost
    # as 127.0.0.1 taken, ::1 free) would still split the callers between two servers.
    in_use = [f for f in failures if f.errno == errno.EADDRINUSE]
    if in_use or (failures and len(failures) == len(candidates)):
        first = (in_use or failures)[0]
        raise refusal(address, (first.strerror or str(first)).lower(), setting)


def bind(server: grpc.aio.Server, address: str) -> int:
    """Bind `address` on `server`; the port bound (the one chosen when it asked for 0).
    StartupError when gRPC cannot bind it (it answers 0 or raises, depending on the version)."""
    try:
        port = server.add_insecure_port(address)
    except RuntimeError as exc:
        raise refusal(address, "gRPC could not bind it") from exc
    if port == 0:
        raise refusal(address, "gRPC could not bind it")
    return port
