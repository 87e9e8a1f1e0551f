"""The one place where errors become gRPC statuses (google.rpc.Status with rich details).

Lookup walks the exception's MRO so a new specific error inherits its category's code. Anything
that is not a DomainError is a bug: the client gets INTERNAL with a generic message, the log gets
the traceback. A DomainError translated from another exception (a database failure, see
adapters/sql/failures.py) is logged with that cause, which the client never sees.
"""

from __future__ import annotations

from types import TracebackType

import grpc
import structlog
from google.protobuf import any_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_status import rpc_status

from domain.kernel import errors as e
from server.interceptors.call_facts import note_error
from server.interceptors.wrapping import ScopeInterceptor

ERROR_DOMAIN = "campaign.v1"
log = structlog.get_logger("campaign.errors")

CODES: dict[type[e.DomainError], int] = {
    e.InvalidArgumentError: code_pb2.INVALID_ARGUMENT,
    e.NotFoundError: code_pb2.NOT_FOUND,
    e.FailedPreconditionError: code_pb2.FAILED_PRECONDITION,
    e.StaleEtagError: code_pb2.ABORTED,
    e.AlreadyExistsError: code_pb2.ALREADY_EXISTS,
    e.ConflictError: code_pb2.ABORTED,
    e.PermissionDeniedError: code_pb2.PERMISSION_DENIED,
    e.UnauthenticatedError: code_pb2.UNAUTHENTICATED,
    e.QuotaExceededError: code_pb2.RESOURCE_EXHAUSTED,
    e.DependencyUnavailableError: code_pb2.UNAVAILABLE,
}


def code_for(error: e.DomainError) -> int:
    for cls in type(error).__mro__:
        if cls in CODES:
            return CODES[cls]
    return code_pb2.INTERNAL


def _pack(message: object) -> any_pb2.Any:
    packed = any_pb2.Any()
    packed.Pack(message)  # type: ignore[arg-type]
    return packed


def to_status(error: e.DomainError) -> grpc.Status:
    details = [
        _pack(
            error_details_pb2.ErrorInfo(
                reason=error.reason, domain=ERROR_DOMAIN, metadata=error.metadata
            )
        )
    ]
    if isinstance(error, e.InvalidArgumentError):
        details.append(
            _pack(
                error_details_pb2.BadRequest(
                    field_violations=[
                        error_details_pb2.BadRequest.FieldViolation(
                            field=v.field, description=v.description
                        )
                        for v in error.violations
                    ]
                )
            )
        )
    if isinstance(error, e.FailedPreconditionError) and error.violations:
        details.append(
            _pack(
                error_details_pb2.PreconditionFailure(
                    violations=[
                        error_details_pb2.PreconditionFailure.Violation(
                            type=v.type, subject=v.subject, description=v.description
                        )
                        for v in error.violations
                    ]
                )
            )
        )
    status = status_pb2.Status(code=code_for(error), message=error.message, details=details)
    return rpc_status.to_status(status)


class ErrorMappingInterceptor(ScopeInterceptor):
    def scope(self, context: grpc.aio.ServicerContext, method: str) -> _Mapped:
        return _Mapped(context, method)


class _Mapped:
    """Errors leaving the handler become statuses (a class, not a generator: entered on every
    call). An error raised here replaces the one leaving the block, as `raise` in an `except`
    would."""

    __slots__ = ("_context", "_method")

    def __init__(self, context: grpc.aio.ServicerContext, method: str) -> None:
        self._context, self._method = context, method

    async def __aenter__(self) -> None:
        return None

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if error is None or isinstance(error, grpc.aio.AbortError):
            return  # no error, or already a status (e.g. UNIMPLEMENTED): keep it
        if isinstance(error, e.DomainError):
            cause = error.__cause__
            if cause is not None and not isinstance(cause, e.DomainError):
                # a translated failure (database, upstream, a forged token): say what it was
                log.warning(
                    "rpc failed",
                    method=self._method,
                    reason=error.reason,
                    cause=f"{type(cause).__module__}.{type(cause).__name__}: {cause}"[:500],
                )
            note_error(error.reason, error.message)
            status = to_status(error)
            await self._context.abort(status.code, status.details, status.trailing_metadata)
        elif isinstance(error, Exception):
            log.error("unhandled error", method=self._method, exc_info=error)
            note_error("", "internal error; see server logs")
            await self._context.abort(grpc.StatusCode.INTERNAL, "internal error; see server logs")
