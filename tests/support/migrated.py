"""Migrated databases for tests, cloned from a template instead of migrated one by one.

Running every migration costs about a second per Postgres database (0.1 s per SQLite file), and
some 600 tests open a freshly migrated one. So the migrations run once per schema version: into a
Postgres template database (`CREATE DATABASE ... TEMPLATE` copies it in a fraction of that) and
into one SQLite file per test process (copied). The template's name carries a digest of the
migration scripts, so a changed migration builds a new template and never serves a stale schema.
The migrations themselves stay tested from empty databases (tests/contract/test_sql_migrations.py).
"""

from __future__ import annotations

import asyncio
import atexit
import hashlib
import shutil
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import (
    AbstractAsyncContextManager,
    AbstractContextManager,
    asynccontextmanager,
    contextmanager,
)
from pathlib import Path

import asyncpg

from adapters.sql import make_engine, upgrade_to_head
from tests.support.services import (
    POSTGRES_ADMIN_DSN,
    POSTGRES_HOST,
    POSTGRES_PORT,
    TEST_DATABASE_PREFIX,
    postgres_url,
    require,
)

MIGRATIONS = Path(__file__).resolve().parents[2] / "adapters" / "sql" / "migrations"
TEMPLATE_PREFIX = "campaign_template_"
BUILD_LOCK = 0x0CA3_9A16  # a pg_advisory_lock key: one test process builds, the others wait
STALE_AFTER_SECONDS = 6 * 3600


def _schema_digest() -> str:
    digest = hashlib.sha256()
    for script in sorted(MIGRATIONS.rglob("*.py")):
        digest.update(script.relative_to(MIGRATIONS).as_posix().encode())
        digest.update(script.read_bytes())
    return digest.hexdigest()[:16]


TEMPLATE = f"{TEMPLATE_PREFIX}{_schema_digest()}"


async def _ensure_template(admin: asyncpg.Connection) -> None:
    """Build the template for this schema version unless it exists, and drop older ones."""
    if await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", TEMPLATE):
        return
    await admin.execute("SELECT pg_advisory_lock($1)", BUILD_LOCK)
    try:
        if await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", TEMPLATE):
            return
        building = f"{TEST_DATABASE_PREFIX}template_{uuid.uuid4().hex[:8]}"
        # The collation tests expect (tests.support.services.postgres_database): ICU en-US.
        await admin.execute(
            f'CREATE DATABASE "{building}" TEMPLATE template0 '
            "LOCALE_PROVIDER icu ICU_LOCALE 'en-US'"
        )
        engine = make_engine(postgres_url(building))
        try:
            await upgrade_to_head(engine)
        finally:
            await engine.dispose()
        await admin.execute(f'ALTER DATABASE "{building}" RENAME TO "{TEMPLATE}"')
        await admin.execute(f'ALTER DATABASE "{TEMPLATE}" WITH ALLOW_CONNECTIONS false')
        await admin.execute(f"COMMENT ON DATABASE \"{TEMPLATE}\" IS '{time.time():.0f}'")
        await _drop_stale_templates(admin)
    finally:
        await admin.execute("SELECT pg_advisory_unlock($1)", BUILD_LOCK)


async def _drop_stale_templates(admin: asyncpg.Connection) -> None:
    """Templates of other schema versions, once built long enough ago that no test run on this
    server still clones them (another checkout on another branch may be running its tests)."""
    rows = await admin.fetch(
        "SELECT datname, shobj_description(oid, 'pg_database') AS built FROM pg_database "
        "WHERE datname LIKE $1 AND datname <> $2",
        f"{TEMPLATE_PREFIX}%",
        TEMPLATE,
    )
    for name, built in rows:
        unknown = not (built and built.isdigit())  # from before templates were dated
        if unknown or time.time() - int(built) > STALE_AFTER_SECONDS:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@asynccontextmanager
async def migrated_postgres_database() -> AsyncIterator[str]:
    """Like tests.support.services.postgres_database, already at the latest migration."""
    require(POSTGRES_HOST, POSTGRES_PORT, "PostgreSQL")
    name = f"{TEST_DATABASE_PREFIX}{uuid.uuid4().hex[:16]}"
    admin = await asyncpg.connect(POSTGRES_ADMIN_DSN)
    try:
        await _ensure_template(admin)
        await admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{TEMPLATE}"')
        try:
            yield postgres_url(name)
        finally:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


@contextmanager
def entered_in_own_loop(database: AbstractAsyncContextManager[str]) -> Iterator[str]:
    """An async database context for synchronous fixtures, run on an event loop of its own."""
    loop = asyncio.new_event_loop()
    try:
        url = loop.run_until_complete(database.__aenter__())
        try:
            yield url
        finally:
            loop.run_until_complete(database.__aexit__(None, None, None))
    finally:
        loop.close()


def migrated_postgres_url() -> AbstractContextManager[str]:
    """migrated_postgres_database() for synchronous fixtures."""
    return entered_in_own_loop(migrated_postgres_database())


_sqlite_template: Path | None = None


async def migrated_sqlite_file(path: Path) -> str:
    """A migrated SQLite database at `path` (a copy of this process's template); its URL."""
    global _sqlite_template  # noqa: PLW0603 - built once per test process
    if _sqlite_template is None:
        folder = tempfile.mkdtemp(prefix="campaign-sqlite-template-")
        atexit.register(shutil.rmtree, folder, ignore_errors=True)
        built = Path(folder) / "template.db"
        engine = make_engine(f"sqlite+aiosqlite:///{built}")
        try:
            await upgrade_to_head(engine)
        finally:
            await engine.dispose()  # the last close folds the write-ahead log into the file
        _sqlite_template = built
    return _copy(_sqlite_template, path)


def _copy(template: Path, path: Path) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(template, path)
    return f"sqlite+aiosqlite:///{path.absolute()}"
