"""One UpsertContacts stream: contacts arrive one at a time and are validated and written a chunk
at a time, so memory stays bounded whatever the client sends.

Two bounds keep one call from running away: at most `max_contacts` contacts per stream (past
that the call fails, telling the client how far it got; upserts are idempotent, so it resends
the rest in another stream), and at most MAX_REPORTED_REJECTIONS rejected contacts listed in the
answer, with the total counted (200,000 bad rows once made a 72 MB answer no default client
accepts).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

from domain.audience.contacts import Contact
from domain.kernel.errors import FieldViolation, InvalidArgumentError

MAX_REPORTED_REJECTIONS = 1_000
DEFAULT_MAX_CONTACTS_PER_STREAM = 100_000
STREAM_CHUNK = 1_000  # contacts validated and written per round trip to the store


@dataclass(frozen=True, slots=True)
class RejectedContact:
    index: int
    user_id: str
    reasons: tuple[str, ...]


@dataclass(slots=True)
class UpsertResult:
    upserted: int = 0
    rejected: list[RejectedContact] = field(default_factory=list)


@dataclass(slots=True)
class ImportReport:
    """What the stream did: contacts written, the first rejections and how many there were."""

    upserted: int = 0
    rejected: list[RejectedContact] = field(default_factory=list)
    rejected_count: int = 0


Upsert = Callable[[Sequence[Contact], int], Awaitable[UpsertResult]]


class ContactImport:
    def __init__(
        self,
        upsert: Upsert,
        *,
        max_contacts: int = DEFAULT_MAX_CONTACTS_PER_STREAM,
        chunk: int = STREAM_CHUNK,
    ) -> None:
        self._upsert = upsert
        self._max_contacts = max_contacts
        self._chunk = chunk
        self._pending: list[Contact] = []
        self._received = 0
        self._flushed = 0
        self.report = ImportReport()

    async def add(self, contact: Contact) -> None:
        if self._received >= self._max_contacts:
            await self._flush()
            raise self._too_many()
        self._pending.append(contact)
        self._received += 1
        if len(self._pending) >= self._chunk:
            await self._flush()

    async def finish(self) -> ImportReport:
        await self._flush()
        return self.report

    async def _flush(self) -> None:
        if not self._pending:
            return
        result = await self._upsert(self._pending, self._flushed)
        self._flushed += len(self._pending)
        self._pending = []
        self.report.upserted += result.upserted
        self.report.rejected_count += len(result.rejected)
        room = MAX_REPORTED_REJECTIONS - len(self.report.rejected)
        self.report.rejected.extend(result.rejected[: max(room, 0)])

    def _too_many(self) -> InvalidArgumentError:
        error = InvalidArgumentError(
            [
                FieldViolation(
                    "contact",
                    f"at most {self._max_contacts} contacts per stream: the first "
                    f"{self._flushed} were processed ({self.report.upserted} upserted, "
                    f"{self.report.rejected_count} rejected); send the rest in another stream",
                )
            ]
        )
        error.metadata = {
            "max_contacts": str(self._max_contacts),
            "processed_count": str(self._flushed),
            "upserted_count": str(self.report.upserted),
            "rejected_count": str(self.report.rejected_count),
        }
        return error
