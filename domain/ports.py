"""Ports: what the domain needs from the outside world, as structural Protocols.

Adapters (SQL, in-memory, NATS, ...) implement these without importing anything but the domain,
and the contract tests run one suite against every implementation.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Sequence
from contextlib import AbstractAsyncContextManager
from datetime import datetime
from types import TracebackType
from typing import Protocol

from domain.audience import AudienceCounts, Recipient, Segment, Suppression, SuppressionReason
from domain.campaign import Campaign
from domain.contacts import Contact
from domain.events import DomainEvent
from domain.execution import Execution, Message, MessageStatus
from domain.listing import CampaignPage, CampaignQuery
from domain.model import Audience, Channel
from domain.templates import Template
from domain.throttling import Limit, Reservation


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

    async def due(self, now: datetime, limit: int) -> Sequence[Campaign]:
        """Scheduled campaigns whose next run is due, across organizations (the scheduler is
        the system, not a tenant), locked so replicas ticking together split them."""


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


# --- audiences (issue #3) ----------------------------------------------------------------------


class ContactDirectory(Protocol):
    """The built-in contact directory of the embedded default (and of organizations without a
    data service). Each call is its own transaction."""

    async def upsert(self, organization_id: str, contacts: Sequence[Contact]) -> int:
        """Insert or replace whole contacts (last write wins); returns how many were written."""

    async def get(self, organization_id: str, user_id: str) -> Contact | None: ...

    async def delete(self, organization_id: str, user_id: str) -> bool:
        """GDPR erasure of the contact's data. Suppressions stay: an unsubscribe must outlive
        the profile, or a re-imported contact would be mailed again."""


class SegmentStore(Protocol):
    async def save(self, organization_id: str, segment: Segment) -> None: ...

    async def get(self, organization_id: str, segment_id: str) -> Segment | None: ...

    async def list(self, organization_id: str) -> Sequence[Segment]: ...

    async def delete(self, organization_id: str, segment_id: str) -> bool: ...


class SuppressionStore(Protocol):
    async def add(self, organization_id: str, entries: Sequence[Suppression]) -> int:
        """Adds the entries not present yet; returns how many were new."""

    async def remove(self, organization_id: str, entries: Sequence[Suppression]) -> int: ...

    async def list(
        self,
        organization_id: str,
        *,
        channel: Channel | None = None,
        reason: SuppressionReason | None = None,
        after: str = "",
        limit: int = 100,
    ) -> tuple[Sequence[Suppression], str]:
        """A page of entries and the cursor of the next page ("" at the end)."""

    async def suppressed_channels(
        self, organization_id: str, contacts: Sequence[Contact]
    ) -> dict[str, frozenset[Channel] | None]:
        """Per user_id, the suppressed channels; None means every channel. Users without any
        suppression are absent."""


class AudienceSource(Protocol):
    """Resolves campaign audiences at run time (BR-CAM-002.1): includes intersect (AND),
    excludes union (OR), fully suppressed members dropped."""

    async def counts(
        self, organization_id: str, audiences: Sequence[Audience]
    ) -> AudienceCounts: ...

    def recipients(
        self,
        organization_id: str,
        audiences: Sequence[Audience],
        *,
        after_user_id: str = "",
        batch_size: int = 10_000,
    ) -> AsyncGenerator[Sequence[Recipient], None]:
        """Batches in ascending user_id order, starting after `after_user_id`, so a run can
        resume from its checkpoint; never the whole audience in memory."""

    async def profile_fields(self, organization_id: str) -> frozenset[str] | None:
        """What a template may name for the organization's recipients (BR-CAM-008.2, checked
        at launch): the contact's own fields (domain.contacts.OWN_PROFILE_FIELDS) plus the
        attribute names known for the organization; None when the source cannot tell, which
        leaves variables unchecked rather than blocking every launch."""


class RateLimiter(Protocol):
    """Shared by every replica (Redis) or local (embedded): GCRA arithmetic of
    domain.throttling.reserve, applied atomically."""

    async def reserve(self, limits: Sequence[Limit], count: int, now: datetime) -> Reservation:
        """Raises DependencyUnavailableError when the limiter cannot be reached: the caller
        defers the batch, never sends it unthrottled."""


class TemplateSource(Protocol):
    """Templates of the creative service, cached by the adapter (BR-CAM-008.1)."""

    async def get(self, organization_id: str, template_id: str) -> Template:
        """Raises NotFoundError for an unknown template and DependencyUnavailableError when the
        service is down and nothing is cached."""


# --- executions (issue #3) ---------------------------------------------------------------------


class ExecutionRepository(Protocol):
    async def add(self, execution: Execution) -> bool:
        """Insert; False when this campaign already has an execution for the same due_at (a
        second scheduler lost the race for this firing)."""

    async def get(self, organization_id: str, execution_id: str) -> Execution | None: ...

    async def list(
        self, organization_id: str, campaign_id: str, *, after: str = "", limit: int = 50
    ) -> tuple[Sequence[Execution], str]: ...

    async def lease(self, owner: str, now: datetime, until: datetime) -> Execution | None:
        """Take one execution that needs an executor (its campaign running or cancelled, nobody
        holding a live lease), skipping rows other replicas are taking right now."""

    async def save(
        self,
        execution: Execution,
        *,
        owner: str,
        expected_cursor: str,
        lease_until: datetime | None = None,
    ) -> bool:
        """Write progress (and extend the lease) if `owner` still holds the lease and nobody
        moved the cursor; False otherwise: the caller must roll back, another executor owns
        this execution now."""

    async def release(
        self, execution_id: str, owner: str, *, retry_at: datetime | None = None
    ) -> None:
        """Give the execution up; `retry_at` keeps every executor away until then (used while
        an execution waits for its deferred messages to be delivered)."""


class MessageRepository(Protocol):
    async def add_many(
        self,
        messages: Sequence[Message],
        idempotency_key: str | None = None,
        *,
        claimed: bool = False,
    ) -> None:
        """Bulk insert (COPY on Postgres). Ids are derived, so a replayed batch collides.
        `idempotency_key` tags a single transactional message. `claimed` messages are queued
        but left out of the delivery relay's claims: their writer hands them over itself right
        after the commit, then marks them (`mark_claimed`) or gives them back (`release_claims`).
        """

    async def mark_claimed(
        self, message_ids: Sequence[str], status: MessageStatus, at: datetime
    ) -> int:
        """A claimed batch handed over (`sent`, or `delivered` by the sandbox); how many of its
        messages were still claimed. `message_ids` are those of one `add_many(claimed=True)`,
        whole and in order: a batch is marked as one, which is what keeps the mark cheap."""

    async def release_claims(self, execution_id: str) -> int:
        """The execution's claimed messages back to the relay: after a failed hand-over, or
        left by an executor that died between its commit and its mark. Only the execution's
        lease holder may call it."""

    async def get(self, organization_id: str, message_id: str) -> Message | None: ...

    async def by_idempotency_key(
        self, organization_id: str, campaign_id: str, key: str
    ) -> Message | None: ...

    async def list(
        self,
        organization_id: str,
        campaign_id: str,
        *,
        execution_id: str = "",
        user_id: str = "",
        statuses: Sequence[MessageStatus] = (),
        after: str = "",
        limit: int = 50,
    ) -> tuple[Sequence[Message], str]: ...

    async def any_pending(self, execution_id: str) -> bool:
        """Whether messages of the execution still wait to be handed to delivery."""

    async def status_counts(self, execution_id: str) -> dict[MessageStatus, int]: ...


class ExecutionUnitOfWork(UnitOfWork, Protocol):
    """A unit of work that also reaches executions and messages (the SQL adapters)."""

    @property
    def executions(self) -> ExecutionRepository: ...

    @property
    def messages(self) -> MessageRepository: ...

    async def __aenter__(self) -> ExecutionUnitOfWork: ...


class ExecutionUnitOfWorkFactory(Protocol):
    def __call__(self, *, read_only: bool = False) -> ExecutionUnitOfWork: ...


class DeliveryBatch(Protocol):
    @property
    def messages(self) -> Sequence[Message]: ...

    async def mark_handed_over(self, status: MessageStatus) -> None:
        """`sent` after the broker acknowledged; `delivered` for the sandbox."""


class DeliveryOutbox(Protocol):
    def claim_due(self, now: datetime, limit: int) -> AbstractAsyncContextManager[DeliveryBatch]:
        """Queued messages whose send_after has come, of campaigns not paused or cancelled."""


class DeliveryPublisher(Protocol):
    """Hands messages to the notification service; at least once, deduplicated by message id."""

    @property
    def handed_over_status(self) -> MessageStatus: ...

    async def publish(self, messages: Sequence[Message]) -> None: ...
