"""Opening the database at start-up (`serve`, `migrate`), every failure said in one line.

An operator who mistyped CAMPAIGN_DATABASE_URL, named a database that does not exist or points
at a host nobody listens on should read what failed and where (host, port, database, cause), not
a sixty-frame traceback; and never the password the URL carries.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import URL, make_url

from domain.kernel.errors import DependencyUnavailableError

SUPPORTED_DRIVERS = ("postgresql+asyncpg", "sqlite+aiosqlite")
EXPECTED = "postgresql+asyncpg://USER:PASSWORD@HOST:PORT/DATABASE or sqlite+aiosqlite:///PATH"
# What the world outside the code can make opening or migrating a database raise.
_OUTSIDE_CAUSES = (
    sa_exc.DBAPIError,
    sa_exc.TimeoutError,
    DependencyUnavailableError,
    OSError,
    TimeoutError,
)


class DatabaseStartupError(RuntimeError):
    """The database could not be opened or migrated; the message is one line for the operator."""


def checked_url(url: str) -> URL:
    """The parsed URL of a database we can drive, else DatabaseStartupError."""
    try:
        parsed = make_url(url)
    except (sa_exc.ArgumentError, ValueError):  # ValueError: a port that is not a number
        raise DatabaseStartupError(
            f"CAMPAIGN_DATABASE_URL is not a database URL; expected {EXPECTED}"
        ) from None
    if parsed.drivername not in SUPPORTED_DRIVERS:
        raise DatabaseStartupError(
            f"CAMPAIGN_DATABASE_URL uses {parsed.drivername!r}, which this service cannot "
            f"drive; expected {EXPECTED}"
        )
    return parsed


def describe(url: URL) -> str:
    """Which database, for a message: never the password."""
    if url.get_backend_name() == "sqlite":
        return f"the SQLite database {url.database}"
    port = url.port or 5432
    return f"database {url.database or '(default)'!r} at {url.host or 'localhost'}:{port}"


@contextmanager
def explained_failures(url: str, doing: str) -> Iterator[None]:
    """Turn what opening or migrating `url` can raise for reasons outside the code (no such
    host, port or database, refused login, unreadable file) into DatabaseStartupError; anything
    else stays a traceback, since it is a bug."""
    parsed = checked_url(url)
    try:
        yield
    except Exception as exc:
        if not isinstance(exc, _OUTSIDE_CAUSES):
            raise
        cause = _root_cause(exc)
        if parsed.password:
            cause = cause.replace(parsed.password, "***")
        raise DatabaseStartupError(
            f"cannot {doing} {describe(parsed)}: {cause}; check CAMPAIGN_DATABASE_URL"
        ) from exc


def _root_cause(error: BaseException) -> str:
    """The innermost cause's first line: the driver's own words ("database "x" does not
    exist", "[Errno 111] Connect call failed"), not SQLAlchemy's wrapping of them."""
    while error.__cause__ is not None:
        error = error.__cause__
    text = str(error).strip().splitlines()
    if not text:
        return type(error).__name__ if not isinstance(error, TimeoutError) else "timed out"
    return text[0]
