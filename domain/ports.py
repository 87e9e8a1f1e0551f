"""Ports: what the domain needs from the outside world, as structural Protocols.

Adapters (SQL, in-memory, NATS, ...) implement these without importing anything but the domain,
and the contract tests run one suite against every implementation.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from datetime import datetime
from types import TracebackType
from typing import Protocol

from domain.campaign import Campaign
from domain.events import DomainEvent
from domain.listing import CampaignPage, CampaignQuery


class CampaignRepository(Protocol):
    """Campaign aggregates, always scoped by organization: another tenant's row does not exist."""

    async def get(self, organization_id: str, campaign_id: str) -> Campaign | None: ...

    async def get_by_request_id(self, organization_id: str, request_id: str) -> Campaign | None: ...

    async def add(self, campaign: Campaign) -> None:
        """Insert; raises DuplicateRequestError when the (organization, request_id) is taken."""

    async def save(self, campaign: Campaign, *, expected_version: int) -> None:
        """Write back `campaign` (whose version the caller already advanced) if the stored
        version is still `expected_version`; StaleEtagError if someone else won."""

    async def delete(self, organization_id: str, campaign_id: str) -> bool: ...

    async def list(self, organization_id: str, query: CampaignQuery) -> CampaignPage: ...


class Outbox(Protocol):
    """Events recorded in the same transaction as the change they describe."""

    async def add(self, events: Sequence[DomainEvent]) -> None: ...


class UnitOfWork(Protocol):
    """One transaction. Leaving the block without `commit()` rolls everything back."""

    @property
    def campaigns(self) -> CampaignRepository: ...

    @property
    def outbox(self) -> Outbox: ...

    async def commit(self) -> None: ...

    async def __aenter__(self) -> UnitOfWork: ...

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...


class UnitOfWorkFactory(Protocol):
    def __call__(self, *, read_only: bool = False) -> UnitOfWork:
        """`read_only` promises no writes, so an adapter may skip the transaction around it
        (on Postgres that saves the BEGIN and ROLLBACK round trips of every read RPC)."""


class OutboxBatch(Protocol):
    """Events claimed by one relay; other relays skip them until this batch ends."""

    @property
    def events(self) -> Sequence[DomainEvent]: ...

    async def mark_published(self) -> None: ...


class OutboxStore(Protocol):
    def claim(self, limit: int) -> AbstractAsyncContextManager[OutboxBatch]: ...


class EventPublisher(Protocol):
    """Delivers events at least once; consumers deduplicate by event_id (Nats-Msg-Id)."""

    async def publish(self, events: Sequence[DomainEvent]) -> None: ...


class Clock(Protocol):
    def now(self) -> datetime: ...


class IdGenerator(Protocol):
    def new_id(self) -> str: ...


class HealthProbe(Protocol):
    async def check(self) -> bool: ...
