"""Statements that name many rows by id."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import ColumnElement, Text, any_, bindparam, cast
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncConnection

from adapters.sql.engine import is_postgres


def among(
    connection: AsyncConnection, column: ColumnElement[str], ids: Sequence[str]
) -> ColumnElement[bool]:
    """`column IN ids`. On Postgres as `= ANY` of one array parameter: one statement text
    whatever the number of ids, so the driver prepares it once and SQLAlchemy renders nothing
    per call, where an expanded IN was a new statement (parsed and planned again) for every
    count of ids, and re-rendered on every call (docs/performance.md)."""
    if is_postgres(connection):
        return column == any_(cast(bindparam(None, list(ids), type_=ARRAY(Text())), ARRAY(Text())))
    return column.in_(ids)
