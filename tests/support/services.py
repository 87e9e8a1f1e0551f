"""Real backing services for tests: skipped locally when not running, a failure in CI.

A skipped contract test in CI would hide exactly the adapter bugs the suite exists to catch, so
`CI` turns "not running" into a failure.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg
import pytest

POSTGRES_HOST, POSTGRES_PORT = "127.0.0.1", 5432
POSTGRES_ADMIN_DSN = f"postgresql://postgres@{POSTGRES_HOST}:{POSTGRES_PORT}/postgres"
TEST_DATABASE_PREFIX = "campaign_test_"


def postgres_url(database: str) -> str:
    return f"postgresql+asyncpg://postgres@{POSTGRES_HOST}:{POSTGRES_PORT}/{database}"


def is_listening(host: str, port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def require(host: str, port: int, name: str) -> None:
    """Skip (locally) or fail (when the CI variable is set) unless host:port accepts connections."""
    if is_listening(host, port):
        return
    message = f"{name} is not listening on {host}:{port}"
    if os.environ.get("CI"):
        pytest.fail(f"{message}; CI must provide it", pytrace=False)
    pytest.skip(message)


@asynccontextmanager
async def postgres_database(icu_locale: str | None = "en-US") -> AsyncIterator[str]:
    """A fresh, uniquely named database for one test; dropped afterwards, even if the test failed.

    Yields its SQLAlchemy URL. Creating a database costs ~50 ms, which buys tests that can
    never see each other's rows (the outbox is not scoped by organization). By default its
    collation is linguistic (ICU en-US), like most production databases, so code that forgets
    to ask for code point order fails here instead of in production.
    """
    require(POSTGRES_HOST, POSTGRES_PORT, "PostgreSQL")
    name = f"{TEST_DATABASE_PREFIX}{uuid.uuid4().hex[:16]}"
    admin = await asyncpg.connect(POSTGRES_ADMIN_DSN)
    try:
        locale = f"LOCALE_PROVIDER icu ICU_LOCALE '{icu_locale}'" if icu_locale else ""
        await admin.execute(f'CREATE DATABASE "{name}" TEMPLATE template0 {locale}')
        try:
            yield postgres_url(name)
        finally:
            # A failed test may have leaked connections, and DROP refuses while any is open.
            await admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1",
                name,
            )
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


def free_port() -> int:
    """A loopback port nobody listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
