"""What a database failure means for the caller, said once for every SQL adapter.

Only an outage is UNAVAILABLE ("retry later"), since clients retry it. The other failures a
request can cause would fail again on retry, so they get a precise error instead:

- UNAVAILABLE (DependencyUnavailableError): connection lost or refused, server shutting down,
  too many connections, pool or connect timeout, SQLite busy, locked, read-only or I/O error.
- RESOURCE_EXHAUSTED (QueryBudgetExceededError, QUERY_BUDGET_EXCEEDED): the statement timeout
  cancelled the query (Postgres 57014), or SQLite was interrupted.
- INVALID_ARGUMENT (RequestTooComplexError, REQUEST_TOO_COMPLEX): too many bind arguments, an
  expression too deep, Postgres program limits (class 54), SQLite TOOBIG and its limit messages.
- INVALID_ARGUMENT (UnstorableValueError, VALUE_NOT_STORABLE): a value the database cannot
  store (Postgres class 22, asyncpg refusing to encode an argument).
- ABORTED (TransactionAbortedError, TRANSACTION_ABORTED): serialization failure or deadlock.
- Anything else is a bug and propagates unchanged: INTERNAL, with its traceback logged.

The original exception stays the domain error's `__cause__`; the error interceptor logs it.
Request validation should stop bad values before any statement runs (server/interceptors/
requests.py); the last two INVALID_ARGUMENT rows are the safety net, so a gap there is still
the client's error and never a retry loop.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager

import asyncpg
from sqlalchemy import exc as sa_exc

from domain.kernel.errors import (
    DependencyUnavailableError,
    DomainError,
    QueryBudgetExceededError,
    RequestTooComplexError,
    TransactionAbortedError,
    UnstorableValueError,
)

MESSAGE = "the database is unavailable; retry later"

# SQLSTATE classes and codes (https://www.postgresql.org/docs/current/errcodes-appendix.html)
_PG_UNAVAILABLE_CLASSES = ("08",)  # connection exception
_PG_UNAVAILABLE = frozenset({"57P01", "57P02", "57P03", "53300", "55P03"})  # shutdown, no slots
_PG_QUERY_CANCELED = "57014"  # statement_timeout (or a cancel request)
_PG_TOO_COMPLEX_CLASSES = ("54",)  # program limit exceeded: statement too complex, too many ...
_PG_UNSTORABLE_CLASSES = ("22",)  # data exception: NUL in text, out of range, ...
_PG_ABORTED = frozenset({"40001", "40P01"})  # serialization failure, deadlock

_SQLITE_UNAVAILABLE = frozenset(
    {
        sqlite3.SQLITE_BUSY,
        sqlite3.SQLITE_LOCKED,
        sqlite3.SQLITE_IOERR,
        sqlite3.SQLITE_CANTOPEN,
        sqlite3.SQLITE_FULL,
        sqlite3.SQLITE_NOMEM,
        sqlite3.SQLITE_PROTOCOL,
        sqlite3.SQLITE_READONLY,
    }
)
# SQLite reports most limits as plain SQLITE_ERROR; these are its messages for them.
_TOO_COMPLEX_MESSAGES = (
    "too many sql variables",
    "expression tree is too large",
    "too many terms in compound select",
    "parser stack overflow",
    "pattern too complex",
    "too many columns",
    "too many arguments on function",
    "string or blob too big",
    # asyncpg, client side, before anything is sent
    "number of query arguments cannot exceed",
)
_UNSTORABLE_MESSAGES = ("invalid input for query argument",)  # asyncpg's encoding of a value
_UNAVAILABLE_MESSAGES = ("connection is closed", "connection was closed", "database is locked")


def _sqlstate(error: sa_exc.DBAPIError) -> str:
    return str(getattr(error.orig, "sqlstate", None) or getattr(error.orig, "pgcode", None) or "")


def _sqlite_code(error: sa_exc.DBAPIError) -> int | None:
    orig = error.orig
    return orig.sqlite_errorcode if isinstance(orig, sqlite3.Error) else None


def domain_error_for(error: BaseException) -> DomainError | None:
    """The domain error a database failure stands for; None when it is a bug (see the table).

    Failures come wrapped by SQLAlchemy (DBAPIError) or, from the statements that use asyncpg
    directly (adapters/sql/campaigns/lookup_statements.py), as asyncpg's own exceptions."""
    if isinstance(error, DomainError):
        return None  # already translated
    if isinstance(error, OSError | TimeoutError | sa_exc.TimeoutError):
        # asyncpg raises OSError when it cannot connect; pools and connects time out.
        return DependencyUnavailableError(MESSAGE)
    if isinstance(error, RecursionError):  # compiling a deeply nested expression
        return RequestTooComplexError()
    if isinstance(
        error, asyncpg.PostgresError | asyncpg.InterfaceError | asyncpg.InternalClientError
    ):
        state = str(getattr(error, "sqlstate", None) or "")
        return _classified(state, None, str(error).lower(), invalidated=False, driver=True)
    if not isinstance(error, sa_exc.DBAPIError):
        return None
    return _classified(
        _sqlstate(error),
        _sqlite_code(error),
        str(error.orig).lower(),
        invalidated=error.connection_invalidated,
        driver=isinstance(error, sa_exc.InterfaceError),
    )


def _classified(
    state: str, code: int | None, text: str, *, invalidated: bool, driver: bool
) -> DomainError | None:
    """`driver`: a failure the driver itself raised (an InterfaceError), not the database."""
    if state == _PG_QUERY_CANCELED or code == sqlite3.SQLITE_INTERRUPT:
        return QueryBudgetExceededError()
    if (
        state.startswith(_PG_TOO_COMPLEX_CLASSES)
        or code == sqlite3.SQLITE_TOOBIG
        or any(m in text for m in _TOO_COMPLEX_MESSAGES)
    ):
        return RequestTooComplexError()
    if state.startswith(_PG_UNSTORABLE_CLASSES) or any(m in text for m in _UNSTORABLE_MESSAGES):
        return UnstorableValueError()
    if state in _PG_ABORTED:
        return TransactionAbortedError()
    if (
        invalidated
        or state.startswith(_PG_UNAVAILABLE_CLASSES)
        or state in _PG_UNAVAILABLE
        or code in _SQLITE_UNAVAILABLE
        or any(m in text for m in _UNAVAILABLE_MESSAGES)
    ):
        return DependencyUnavailableError(MESSAGE)
    if not state and code is None and driver:
        # a driver-level failure that is none of the above: the connection cannot be trusted
        return DependencyUnavailableError(MESSAGE)
    return None


def is_unavailable(error: BaseException) -> bool:
    return isinstance(domain_error_for(error), DependencyUnavailableError)


@contextmanager
def database_errors_as_domain_errors() -> Iterator[None]:
    """Raise the domain error a database failure stands for (the failure as its cause);
    anything else, a bug, propagates unchanged."""
    try:
        yield
    except Exception as exc:
        translated = domain_error_for(exc)
        if translated is not None:
            raise translated from exc
        raise


def connect_failure(error: Exception) -> DependencyUnavailableError:
    """Any failure to open a connection, including a missing database, is an outage to callers."""
    return DependencyUnavailableError(MESSAGE, metadata={"cause": type(error).__name__})
