"""One error hierarchy for the whole service, by category; the server maps categories to gRPC codes.

Every specific error carries a stable UPPER_SNAKE `reason` so clients can branch on it without
parsing messages, and field violations so a form can point at the exact input that was wrong.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

# Echoed input is cut to this many characters: a client's 1 MB id must not come back in a status
# message or ErrorInfo metadata, which gRPC carries in trailers limited to a few kilobytes.
MAX_ECHO = 64
# The most field violations one error reports (the rest are counted): the details travel in the
# same trailers, and the first few tell a client what to fix.
MAX_REPORTED_VIOLATIONS = 20
MAX_MESSAGE = 1024  # characters of an error message, whatever built it
ELLIPSIS = "\u2026"


def truncated(value: str, limit: int = MAX_ECHO) -> str:
    """`value` cut to `limit` characters, with an ellipsis when something was cut."""
    return value if len(value) <= limit else value[: limit - 1] + ELLIPSIS


def shown(value: object, limit: int = MAX_ECHO) -> str:
    """How a client's value appears in an error message: quoted like repr, at most `limit`
    characters of it (the rest replaced by an ellipsis)."""
    text = value if isinstance(value, str) else str(value)
    return repr(truncated(text, limit))


@dataclass(frozen=True, slots=True)
class FieldViolation:
    """One bad input: `field` is a path in request terms (`variants[1].allocation_percentage`)."""

    field: str
    description: str


@dataclass(frozen=True, slots=True)
class PreconditionViolation:
    """One unmet state rule: `subject` names what is missing (`audiences`, `status`)."""

    type: str
    subject: str
    description: str


class DomainError(Exception):
    """Base of every error a client can cause; never raised for bugs."""

    reason = "DOMAIN_ERROR"

    def __init__(self, message: str, *, metadata: Mapping[str, str] | None = None) -> None:
        message = truncated(message, MAX_MESSAGE)
        super().__init__(message)
        self.message = message
        # Metadata values usually echo what the client sent (an id): cut them centrally.
        self.metadata: dict[str, str] = {
            truncated(k): truncated(v) for k, v in (metadata or {}).items()
        }


class InvalidArgumentError(DomainError):
    """The request itself is malformed; nothing was changed."""

    reason = "INVALID_ARGUMENT"

    def __init__(self, violations: Sequence[FieldViolation], message: str | None = None) -> None:
        self.violations = _bounded(violations)
        summary = "; ".join(f"{v.field}: {v.description}" for v in self.violations[:5])
        super().__init__(message or f"invalid request: {summary}")


def _bounded(violations: Sequence[FieldViolation]) -> list[FieldViolation]:
    """The first MAX_REPORTED_VIOLATIONS, then one entry counting the rest; every path and
    description cut to a size a status can carry (paths may hold a client's map key)."""
    kept = [
        FieldViolation(truncated(v.field, 256), truncated(v.description, 512))
        for v in violations[:MAX_REPORTED_VIOLATIONS]
    ]
    if len(violations) > MAX_REPORTED_VIOLATIONS:
        rest = len(violations) - MAX_REPORTED_VIOLATIONS
        kept.append(FieldViolation("", f"and {rest} more problems not listed"))
    return kept


def required(field_name: str, value: str) -> str:
    """`value`, or INVALID_ARGUMENT naming `field_name` when it is empty: an id every lookup
    needs, checked the same way by every use case."""
    if not value:
        raise InvalidArgumentError([FieldViolation(field_name, "is required")])
    return value


class ValidationError(InvalidArgumentError):
    """The campaign definition breaks a business rule (BR-CAM-*)."""

    reason = "CAMPAIGN_INVALID"


class NotFoundError(DomainError):
    """Missing, or owned by another organization: the two are indistinguishable on purpose."""

    reason = "NOT_FOUND"


class CampaignNotFoundError(NotFoundError):
    reason = "CAMPAIGN_NOT_FOUND"

    def __init__(self, campaign_id: str) -> None:
        super().__init__(
            f"campaign {shown(campaign_id)} not found", metadata={"campaign_id": campaign_id}
        )


class FailedPreconditionError(DomainError):
    """The request is well-formed but the campaign's state does not allow it."""

    reason = "FAILED_PRECONDITION"

    def __init__(
        self,
        message: str,
        *,
        violations: Sequence[PreconditionViolation] = (),
        metadata: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message, metadata=metadata)
        self.violations = list(violations)


class InvalidTransitionError(FailedPreconditionError):
    reason = "INVALID_STATE_TRANSITION"


class CampaignNotEditableError(FailedPreconditionError):
    reason = "CAMPAIGN_NOT_EDITABLE"


class CampaignIncompleteError(FailedPreconditionError):
    reason = "CAMPAIGN_INCOMPLETE"


class ConflictError(DomainError):
    """Base for write conflicts."""

    reason = "CONFLICT"


class StaleEtagError(ConflictError):
    """Someone else changed the resource since the caller read it (optimistic concurrency)."""

    reason = "ETAG_MISMATCH"


class TransactionAbortedError(ConflictError):
    """The database aborted the transaction (serialization failure, deadlock): retry it."""

    reason = "TRANSACTION_ABORTED"

    def __init__(self) -> None:
        super().__init__("the transaction was aborted by a concurrent one; retry")


class AlreadyExistsError(ConflictError):
    reason = "ALREADY_EXISTS"


class RequestIdReusedError(AlreadyExistsError):
    """Same idempotency key, different payload: replaying would silently drop the new intent."""

    reason = "REQUEST_ID_REUSED"


class PermissionDeniedError(DomainError):
    reason = "PERMISSION_DENIED"


class UnauthenticatedError(DomainError):
    reason = "UNAUTHENTICATED"


class QuotaExceededError(DomainError):
    reason = "QUOTA_EXCEEDED"


class QueryBudgetExceededError(QuotaExceededError):
    """A database statement ran past its time budget (the statement timeout) and was cancelled:
    the request asks for more work than one call may do. Retrying the same request will most
    likely fail again; narrow it (fewer filters or items, a smaller page)."""

    reason = "QUERY_BUDGET_EXCEEDED"

    def __init__(self) -> None:
        super().__init__(
            "the request needed more database time than one call may use; narrow it and retry"
        )


class RequestTooComplexError(InvalidArgumentError):
    """The request is too large or complex for the database to run as one query (too many
    bind arguments, an expression nested too deep): it fails the same way on every retry."""

    reason = "REQUEST_TOO_COMPLEX"

    def __init__(self) -> None:
        super().__init__(
            [FieldViolation("request", "is too large or complex for one query")],
            "the request is too large or complex for one database query; send fewer items",
        )


class UnstorableValueError(InvalidArgumentError):
    """A request value the database cannot store (a NUL character, a number out of range) that
    request validation did not stop first."""

    reason = "VALUE_NOT_STORABLE"

    def __init__(self) -> None:
        super().__init__(
            [FieldViolation("request", "holds a value the database cannot store")],
            "the request holds a value the database cannot store",
        )


class DependencyUnavailableError(DomainError):
    """An upstream (database, broker, data service) is down; safe to retry later."""

    reason = "DEPENDENCY_UNAVAILABLE"


@dataclass(slots=True)
class ViolationCollector:
    """Gathers every field problem of a request so the client sees all of them at once.

    `error` is what `raise_if_any` raises: a plain InvalidArgumentError, or ValidationError
    (reason CAMPAIGN_INVALID) where a campaign definition is being checked.
    """

    prefix: str = ""
    violations: list[FieldViolation] = field(default_factory=list)
    error: type[InvalidArgumentError] = InvalidArgumentError

    def add(self, field_path: str, description: str) -> None:
        self.violations.append(FieldViolation(self.prefix + field_path, description))

    def nested(self, prefix: str) -> ViolationCollector:
        return ViolationCollector(self.prefix + prefix + ".", self.violations, self.error)

    def raise_if_any(self) -> None:
        if self.violations:
            raise self.error(self.violations)


class DuplicateRequestError(AlreadyExistsError):
    """Raised by repositories when a concurrent create took the same request_id first."""

    reason = "DUPLICATE_REQUEST_ID"


class UpstreamFailedError(DependencyUnavailableError):
    """An upstream service (data service, creative service) failed and no cached answer could
    stand in. A run that needs it fails with this reason instead of waiting (EC-CAM-002)."""

    reason = "UPSTREAM_FAILED"
