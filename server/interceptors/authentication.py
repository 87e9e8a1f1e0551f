"""Bearer-JWT authentication and the role check of server.authorization. The verified Principal
is put in a context variable for the servicers; health and reflection stay open so probes and
grpcurl `list` need no token."""

from __future__ import annotations

from contextvars import ContextVar

import grpc

from domain.kernel.errors import UnauthenticatedError
from domain.kernel.principal import Principal
from server.authorization import authorize
from server.interceptors.call_facts import note_principal
from server.interceptors.wrapping import ScopeInterceptor
from server.tokens import TokenVerifier

OPEN_SERVICES = ("/grpc.health.v1.Health/", "/grpc.reflection.")
_principal: ContextVar[Principal | None] = ContextVar("principal", default=None)


def current_principal() -> Principal:
    principal = _principal.get()
    if principal is None:  # only reachable if a servicer runs without the interceptor
        raise UnauthenticatedError("no credentials")
    return principal


def bearer_token(context: grpc.aio.ServicerContext) -> str:
    for key, value in context.invocation_metadata() or ():
        if key == "authorization":
            scheme, _, token = str(value).partition(" ")
            if scheme.lower() == "bearer" and token.strip():
                return token.strip()
            raise UnauthenticatedError("authorization metadata must be 'Bearer <token>'")
    raise UnauthenticatedError("missing 'authorization: Bearer <token>' metadata")


class AuthenticationInterceptor(ScopeInterceptor):
    def __init__(self, verifier: TokenVerifier) -> None:
        super().__init__()
        self._verifier = verifier

    def applies_to(self, method: str) -> bool:
        return not method.startswith(OPEN_SERVICES)

    def scope(self, context: grpc.aio.ServicerContext, method: str) -> _AsPrincipal:
        principal = self._verifier.verify(bearer_token(context))
        note_principal(principal)  # the access log names the caller, refused or not
        authorize(principal, method)
        return _AsPrincipal(principal)


class _AsPrincipal:
    """The caller as current_principal() while the handler runs (a class, not a generator:
    entered on every call, docs/performance.md)."""

    __slots__ = ("_principal", "_token")

    def __init__(self, principal: Principal) -> None:
        self._principal = principal

    async def __aenter__(self) -> None:
        self._token = _principal.set(self._principal)

    async def __aexit__(self, *exc_info: object) -> None:
        _principal.reset(self._token)
