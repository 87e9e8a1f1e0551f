"""Alembic environment: runs on the connection `adapters.sql.migrate` hands over, never on a URL.

The service migrates through `campaign-service migrate` (or `upgrade_to_head` in tests), which
already holds a connection with the right engine settings, so there is no alembic.ini to keep in
sync with the service's configuration.
"""

from __future__ import annotations

from alembic import context

from adapters.sql.full_schema import metadata

connection = context.config.attributes.get("connection")
if connection is None or context.is_offline_mode():
    raise RuntimeError("migrate with `campaign-service migrate` (adapters.sql.migrate)")

context.configure(
    connection=connection,
    target_metadata=metadata,
    # SQLite cannot ALTER most things; batch mode rebuilds the table instead.
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
