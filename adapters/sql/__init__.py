"""SQL persistence (Postgres in production, a SQLite file embedded): the public surface.

The composition root needs only these names; the modules behind them are private detail.
"""

from adapters.sql.engine import is_postgres, make_engine, sqlite_url_for
from adapters.sql.migrate import (
    SchemaOutOfDateError,
    current_revision,
    ensure_schema_current,
    head_revision,
    upgrade_to_head,
)
from adapters.sql.unit_of_work import SqlStore, SqlUnitOfWork

__all__ = [
    "SchemaOutOfDateError",
    "SqlStore",
    "SqlUnitOfWork",
    "current_revision",
    "ensure_schema_current",
    "head_revision",
    "is_postgres",
    "make_engine",
    "sqlite_url_for",
    "upgrade_to_head",
]
