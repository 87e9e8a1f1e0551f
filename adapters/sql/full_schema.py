"""Every context's tables on the one MetaData: what Alembic and the schema tests compare against.

Each context declares its own tables; importing them here, and only here, gathers the whole
schema without one table module having to import another's.
"""

from __future__ import annotations

from adapters.sql.audience import tables as audience_tables
from adapters.sql.campaigns import tables as campaign_tables
from adapters.sql.events import tables as event_tables
from adapters.sql.execution import tables as execution_tables
from adapters.sql.metrics import tables as metric_tables
from adapters.sql.schema import metadata

CONTEXT_TABLES = (audience_tables, campaign_tables, execution_tables, event_tables, metric_tables)

__all__ = ["CONTEXT_TABLES", "metadata"]
