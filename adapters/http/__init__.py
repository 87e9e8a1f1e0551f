"""HTTP clients of the upstream services (isA_Data, isA_Creative): the public surface.

The composition root builds one UpstreamClient per upstream (one connection pool each), hands it
to the port implementations and closes it on shutdown. The contract we expect from each service
is documented for its owners in docs/upstream-http.md.
"""

from adapters.http.audience import HttpAudienceSource
from adapters.http.breaker import CircuitBreaker, CircuitState
from adapters.http.client import Timeouts, UpstreamClient
from adapters.http.errors import (
    SegmentNotFoundError,
    TemplateNotFoundError,
    UpstreamBadResponseError,
    UpstreamRejectedError,
    UpstreamUnavailableError,
)
from adapters.http.retry import RetryPolicy
from adapters.http.templates import HttpTemplateSource

__all__ = [
    "CircuitBreaker",
    "CircuitState",
    "HttpAudienceSource",
    "HttpTemplateSource",
    "RetryPolicy",
    "SegmentNotFoundError",
    "TemplateNotFoundError",
    "Timeouts",
    "UpstreamBadResponseError",
    "UpstreamClient",
    "UpstreamRejectedError",
    "UpstreamUnavailableError",
]
