"""Which database failures mean "the database is unavailable", said once for every SQL adapter.

The server maps DependencyUnavailableError to UNAVAILABLE, which clients retry; anything else a
driver raises is a bug or a constraint and must stay loud (INTERNAL).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import exc as sa_exc

from domain.kernel.errors import DependencyUnavailableError

MESSAGE = "the database is unavailable; retry later"


def is_unavailable(error: BaseException) -> bool:
    if isinstance(error, sa_exc.DBAPIError):
        return error.connection_invalidated or isinstance(
            error, sa_exc.OperationalError | sa_exc.InterfaceError
        )
    # asyncpg raises OSError when it cannot connect; pools and connects time out.
    return isinstance(error, OSError | TimeoutError | sa_exc.TimeoutError)


@contextmanager
def unavailable_as_domain_error() -> Iterator[None]:
    try:
        yield
    except Exception as exc:
        if is_unavailable(exc):
            raise DependencyUnavailableError(MESSAGE) from exc
        raise


def connect_failure(error: Exception) -> DependencyUnavailableError:
    """Any failure to open a connection, including a missing database, is an outage to callers."""
    return DependencyUnavailableError(MESSAGE, metadata={"cause": type(error).__name__})
