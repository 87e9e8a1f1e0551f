"""Units of work over one AsyncSession each, and `SqlStore`, what the composition root wires in.

The connection is taken when the block is entered, so a database outage surfaces as one
DependencyUnavailableError (gRPC UNAVAILABLE, retried by clients) before any work is done,
instead of a driver exception from the middle of a use case (INTERNAL).
"""

from __future__ import annotations

import asyncio
import contextlib
from types import TracebackType

from sqlalchemy import exc as sa_exc
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from adapters.sql.engine import SQLITE_BEGIN_OPTION
from adapters.sql.failures import (
    MESSAGE,
    connect_failure,
    is_unavailable,
    unavailable_as_domain_error,
)
from adapters.sql.outbox import SqlOutbox, SqlOutboxStore
from adapters.sql.repository import SqlCampaignRepository
from domain.errors import DependencyUnavailableError

HEALTH_TIMEOUT_S = 2.0


class SqlUnitOfWork:
    """One transaction; leaving the block without `commit()` rolls it back."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions
        self._session: AsyncSession | None = None

    @property
    def campaigns(self) -> SqlCampaignRepository:
        return SqlCampaignRepository(self._active())

    @property
    def outbox(self) -> SqlOutbox:
        return SqlOutbox(self._active())

    async def commit(self) -> None:
        with unavailable_as_domain_error():
            await self._active().commit()

    async def __aenter__(self) -> SqlUnitOfWork:
        session = self._sessions()
        try:
            await session.connection()  # connect and BEGIN now (see the module docstring)
        except (sa_exc.SQLAlchemyError, OSError, TimeoutError) as exc:
            await _close_quietly(session)
            raise connect_failure(exc) from exc
        self._session = session
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        session, self._session = self._active(), None
        if exc is None:
            with unavailable_as_domain_error():
                await session.close()  # rolls back whatever was not committed
            return
        await _close_quietly(session)  # the block's own error is the one worth reporting
        if is_unavailable(exc):
            raise DependencyUnavailableError(MESSAGE) from exc

    def _active(self) -> AsyncSession:
        if self._session is None:
            raise RuntimeError("use the unit of work inside `async with`")
        return self._session


class SqlStore:
    """Everything SQL the service needs from one engine: units of work, the outbox, health."""

    def __init__(self, engine: AsyncEngine, *, health_timeout: float = HEALTH_TIMEOUT_S) -> None:
        self.engine = engine
        self.health_timeout = health_timeout
        # expire_on_commit=False: the repositories return plain dataclasses, never ORM objects.
        self._sessions = async_sessionmaker(engine, expire_on_commit=False)

    def unit_of_work(self) -> SqlUnitOfWork:
        """The UnitOfWorkFactory port."""
        return SqlUnitOfWork(self._sessions)

    def outbox_store(self) -> SqlOutboxStore:
        return SqlOutboxStore(self._sessions)

    async def check(self) -> bool:
        """Health probe: can we run a query right now? Never raises."""
        try:
            async with asyncio.timeout(self.health_timeout), self.engine.connect() as connection:
                # A plain BEGIN on SQLite: a probe must not queue behind writers.
                await connection.execution_options(**{SQLITE_BEGIN_OPTION: "BEGIN"})
                await connection.execute(text("SELECT 1"))
        except Exception:
            return False
        return True

    async def close(self) -> None:
        await self.engine.dispose()


async def _close_quietly(session: AsyncSession) -> None:
    # The connection is probably broken already; the caller reports why.
    with contextlib.suppress(Exception):
        await session.close()
