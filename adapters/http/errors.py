"""Errors of the HTTP upstream adapters, each a subclass of its domain category.

The gRPC error interceptor maps by walking the MRO, so these inherit UNAVAILABLE or NOT_FOUND from
their domain base while carrying a reason specific enough for an operator (or the executor's
failure record) to tell "the data service is down" from "our request was refused".
"""

from __future__ import annotations

from collections.abc import Mapping

from domain.kernel.errors import NotFoundError, UpstreamFailedError, shown


class UpstreamUnavailableError(UpstreamFailedError):
    """The upstream could not answer: network, timeout, 5xx, 429 or an open circuit.

    Transient by nature, so callers may fall back to a last good cached answer.
    """

    reason = "UPSTREAM_UNAVAILABLE"

    def __init__(
        self, upstream: str, message: str, *, metadata: Mapping[str, str] | None = None
    ) -> None:
        super().__init__(
            f"{upstream}: {message}", metadata={"upstream": upstream, **(metadata or {})}
        )
        self.upstream = upstream
        self.detail = message  # without the upstream's name, for messages that add their own


class UpstreamBadResponseError(UpstreamUnavailableError):
    """The upstream answered 2xx with something outside the documented contract.

    From our side a broken deploy upstream is an outage like any other, hence the subclass (and
    the same stale-cache fallback); the distinct reason points the operator at the contract.
    """

    reason = "UPSTREAM_BAD_RESPONSE"


class UpstreamRejectedError(UpstreamFailedError):
    """The upstream refused the request with a 4xx: retrying the same request cannot help.

    Deliberately not an UpstreamUnavailableError, so no stale fallback hides a contract or
    configuration mistake (a wrong token, an unknown field) behind yesterday's data.
    """

    reason = "UPSTREAM_REJECTED"

    def __init__(self, upstream: str, status: int, detail: str = "") -> None:
        message = f"{upstream}: request rejected with HTTP {status}"
        super().__init__(
            f"{message}: {detail}" if detail else message,
            metadata={"upstream": upstream, "status": str(status)},
        )
        self.upstream = upstream
        self.status = status


class TemplateNotFoundError(NotFoundError):
    """The creative service has no such template for this organization (HTTP 404)."""

    reason = "TEMPLATE_NOT_FOUND"

    def __init__(self, template_id: str) -> None:
        super().__init__(
            f"template {shown(template_id)} not found", metadata={"template_id": template_id}
        )


class SegmentNotFoundError(NotFoundError):
    """The data service has no such segment for this organization (HTTP 404). Internal to the
    adapter: HttpAudienceSource answers it as every audience source does, a FailedPrecondition
    naming the audience (domain.audience.segments.unknown_segment)."""

    reason = "SEGMENT_NOT_FOUND"

    def __init__(self, segment_id: str) -> None:
        super().__init__(
            f"segment {shown(segment_id)} not found", metadata={"segment_id": segment_id}
        )
        self.segment_id = segment_id
