"""asyncpg's own exceptions (the statements that skip SQLAlchemy) mean what SQLAlchemy's
wrapped ones mean: adapters/sql/failures.py's table, for the raw driver."""

from __future__ import annotations

import asyncpg
import pytest
from asyncpg import exceptions as pg

from adapters.sql.failures import domain_error_for
from domain.kernel.errors import (
    DependencyUnavailableError,
    QueryBudgetExceededError,
    TransactionAbortedError,
    UnstorableValueError,
)


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (
            pg.QueryCanceledError("canceling statement due to statement timeout"),
            QueryBudgetExceededError,
        ),
        (pg.ConnectionDoesNotExistError("connection was closed"), DependencyUnavailableError),
        (pg.AdminShutdownError("terminating connection"), DependencyUnavailableError),
        (pg.TooManyConnectionsError("too many clients"), DependencyUnavailableError),
        (pg.CharacterNotInRepertoireError("invalid byte sequence"), UnstorableValueError),
        (pg.SerializationError("could not serialize"), TransactionAbortedError),
        (asyncpg.InterfaceError("connection is closed"), DependencyUnavailableError),
        (
            pg.InternalClientError("cannot switch to state 12; another operation is in progress"),
            DependencyUnavailableError,
        ),
    ],
)
def test_driver_failures_translate_like_wrapped_ones(
    error: Exception, expected: type[Exception]
) -> None:
    assert isinstance(domain_error_for(error), expected)


def test_a_driver_error_that_is_a_bug_stays_one() -> None:
    assert domain_error_for(pg.UndefinedTableError('relation "nope" does not exist')) is None
