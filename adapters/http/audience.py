"""The AudienceSource port over the data service (isA_Data), BR-CAM-002.

Pipeline per batch: merged member ids (includes AND, excludes OR, streamed in ascending order)
-> profiles (user_360, in chunks, a few in flight) -> suppressions (our own store, by user and by
address, hence after the profiles) -> Recipients. Memory is one page per audience plus one batch.
When the data service fails, the last good member lists and profiles (at most `stale_ttl` old)
stand in, with a warning (EC-CAM-002); with nothing usable cached the call raises
DependencyUnavailableError and the executor fails the run with that reason. A segment the data
service does not know (404) is answered as the built-in directory answers it: a
FailedPrecondition naming `audiences[i].segment_id` (domain.audience.segments).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Hashable, Sequence
from typing import TypeVar, cast

from adapters.http.cache import TtlCache, stale_copy
from adapters.http.client import UpstreamClient
from adapters.http.data_service import MAX_MEMBERS_PAGE, MAX_PROFILES_BATCH, DataServiceApi
from adapters.http.errors import SegmentNotFoundError, UpstreamUnavailableError
from adapters.http.id_streams import IdCursor, merged_ids
from adapters.http.member_pages import MemberPages, MemberSnapshot, snapshot_key
from domain.audience.contacts import OWN_PROFILE_FIELDS, Contact, reachable
from domain.audience.model import Audience, AudienceCounts, Recipient, SegmentType
from domain.audience.ports import SuppressionStore
from domain.audience.segments import unknown_segment
from domain.kernel.channels import Channel
from domain.kernel.errors import FailedPreconditionError

log = logging.getLogger("campaign.http")
T = TypeVar("T")
ALL_CHANNELS = frozenset(Channel)

# (cache name, hit): what the composition root counts (server/observability).
CacheLookups = Callable[[str, bool], None]

# Users asked about concurrently by `members` (each costs a few upstream requests).
MEMBERS_AT_ONCE = 8


class HttpAudienceSource:
    """Resolves audiences through the data service; see docs/upstream-http.md for the contract.

    counts() asks `count` per audience, but the funnel after exclusions and suppression has no
    endpoint, so it streams the whole audience once (members and profiles): O(audience) calls,
    the price of an exact estimate without a dedicated upstream endpoint.
    """

    def __init__(
        self,
        client: UpstreamClient,
        suppressions: SuppressionStore,
        *,
        page_size: int = MAX_MEMBERS_PAGE,
        profile_batch_size: int = MAX_PROFILES_BATCH,
        profile_concurrency: int = 4,
        stale_ttl: float = 300.0,
        stale_members_max: int = 100_000,
        stale_profiles_max: int = 100_000,
        clock: Callable[[], float] = time.monotonic,
        cache_lookups: CacheLookups | None = None,
    ) -> None:
        """`cache_lookups(cache, hit)` hears of every lookup in the caches below (the
        service's metrics): `profile_schemas` serves every read, the others only stand in
        while the data service fails."""
        if (
            not 0 < page_size <= MAX_MEMBERS_PAGE
            or not 0 < profile_batch_size <= MAX_PROFILES_BATCH
        ):
            raise ValueError("page_size or profile_batch_size outside the data service's limits")
        self._api = DataServiceApi(client)
        self._suppressions = suppressions
        self._page_size = page_size
        self._profile_batch_size = profile_batch_size
        self._profile_concurrency = profile_concurrency
        self._stale_members_max = stale_members_max
        self._snapshots: TtlCache[Hashable, MemberSnapshot] = TtlCache(
            ttl=stale_ttl,
            max_weight=stale_members_max,
            weigh=lambda s: len(s.user_ids),
            clock=clock,
            on_lookup=_told(cache_lookups, "member_snapshots"),
        )
        self._profiles: TtlCache[tuple[str, str], Contact] = TtlCache(
            ttl=stale_ttl,
            max_weight=stale_profiles_max,
            clock=clock,
            on_lookup=_told(cache_lookups, "profiles"),
        )
        self._counts: TtlCache[Hashable, int] = TtlCache(
            ttl=stale_ttl, max_weight=10_000, clock=clock, on_lookup=_told(cache_lookups, "counts")
        )
        # Schemas change with deploys, not per send: kept for the TTL, like templates.
        self._schemas: TtlCache[str, frozenset[str] | None] = TtlCache(
            ttl=stale_ttl,
            max_weight=10_000,
            clock=clock,
            on_lookup=_told(cache_lookups, "profile_schemas"),
        )

    async def profile_fields(self, organization_id: str) -> frozenset[str] | None:
        cached = self._schemas.get(organization_id)
        if cached is not None:
            fields = cached.value
        else:
            fields = await self._api.profile_fields(organization_id)
            self._schemas.put(organization_id, fields)
        return None if fields is None else OWN_PROFILE_FIELDS | fields

    async def missing_segments(
        self, organization_id: str, audiences: Sequence[Audience]
    ) -> Sequence[int]:
        """Asks `count` of each named segment (the data service has no plain lookup): a 404 is
        a missing segment; a recent count stands in while the service is down."""
        named = [(i, a) for i, a in enumerate(audiences) if a.segment_id]
        found = await _gather_all([self._exists(organization_id, a) for _, a in named])
        return [i for (i, _), exists in zip(named, found, strict=True) if not exists]

    async def _exists(self, organization_id: str, audience: Audience) -> bool:
        try:
            await self._count(organization_id, audience)
        except SegmentNotFoundError:
            return False
        return True

    async def counts(self, organization_id: str, audiences: Sequence[Audience]) -> AudienceCounts:
        try:
            return await self._counts_of(organization_id, audiences)
        except SegmentNotFoundError as exc:
            raise _unknown(audiences, exc) from exc

    async def _counts_of(
        self, organization_id: str, audiences: Sequence[Audience]
    ) -> AudienceCounts:
        by_segment = await _gather_all([self._count(organization_id, a) for a in audiences])
        after_exclusions = after_suppression = 0
        reach = dict.fromkeys(Channel, 0)
        async for ids in self._member_batches(organization_id, audiences, "", self._page_size):
            after_exclusions += len(ids)
            for recipient in await self._resolve(organization_id, ids):
                after_suppression += 1
                for channel in Channel:
                    if channel not in recipient.suppressed_channels and reachable(
                        recipient.contact, channel
                    ):
                        reach[channel] += 1
        return AudienceCounts(tuple(by_segment), after_exclusions, after_suppression, reach)

    async def recipients(
        self,
        organization_id: str,
        audiences: Sequence[Audience],
        *,
        after_user_id: str = "",
        batch_size: int = 10_000,
    ) -> AsyncGenerator[Sequence[Recipient], None]:
        if batch_size < 1:
            raise ValueError("batch_size must be >= 1")
        try:
            async for ids in self._member_batches(
                organization_id, audiences, after_user_id, batch_size
            ):
                batch = await self._resolve(organization_id, ids)
                if batch:
                    yield batch
        except SegmentNotFoundError as exc:
            raise _unknown(audiences, exc) from exc

    async def member(
        self, organization_id: str, audiences: Sequence[Audience], user_id: str
    ) -> Recipient | None:
        """Membership per audience through `members` (one short page starting just before the
        user, docs/upstream-http.md has no membership endpoint), then the profile and our
        suppressions. No stale fallback: a trigger evaluated on a guess could send wrongly, and
        the event is simply taken again once the service answers (the intake retries it)."""
        includes = [a for a in audiences if a.segment_type is SegmentType.INCLUDE]
        if not includes:
            return None
        try:
            found = await _gather_all(
                [self._contains(organization_id, a, user_id) for a in audiences]
            )
        except SegmentNotFoundError as exc:
            raise _unknown(audiences, exc) from exc
        for audience, contained in zip(audiences, found, strict=True):
            if contained is (audience.segment_type is SegmentType.EXCLUDE):
                return None
        contacts = await self._api.profiles(organization_id, [user_id])
        contact = contacts.get(user_id)
        if contact is None:
            return None
        suppressed = await self._suppressions.suppressed_channels(organization_id, [contact])
        channels = suppressed.get(user_id, frozenset())
        return Recipient(contact, ALL_CHANNELS if channels is None else channels)

    async def members(
        self, organization_id: str, audiences: Sequence[Audience], user_ids: Sequence[str]
    ) -> dict[str, Recipient]:
        """`member` per user (the data service has no membership endpoint), a few users at a
        time."""
        found: dict[str, Recipient] = {}
        unique = sorted(set(user_ids))
        for start in range(0, len(unique), MEMBERS_AT_ONCE):
            some = unique[start : start + MEMBERS_AT_ONCE]
            answers = await _gather_all([self.member(organization_id, audiences, u) for u in some])
            found.update((u, r) for u, r in zip(some, answers, strict=True) if r is not None)
        return found

    async def _contains(self, organization_id: str, audience: Audience, user_id: str) -> bool:
        """Whether the audience holds `user_id`: the first ids after a string just below it."""
        after = just_below(user_id)
        while True:
            page = await self._api.members(organization_id, audience, after=after, limit=2)
            for found in page.user_ids:
                if found >= user_id:
                    return found == user_id
            if page.next_after is None or not page.user_ids:
                return False
            after = page.user_ids[-1]

    async def _member_batches(
        self, organization_id: str, audiences: Sequence[Audience], after: str, size: int
    ) -> AsyncIterator[list[str]]:
        def cursors(kind: SegmentType) -> list[IdCursor]:
            return [
                IdCursor(self._pages(organization_id, a, after), after=after)
                for a in audiences
                if a.segment_type is kind
            ]

        batch: list[str] = []
        async for user_id in merged_ids(cursors(SegmentType.INCLUDE), cursors(SegmentType.EXCLUDE)):
            batch.append(user_id)
            if len(batch) >= size:
                yield batch
                batch = []
        if batch:
            yield batch

    def _pages(self, organization_id: str, audience: Audience, after: str) -> MemberPages:
        return MemberPages(
            self._api,
            self._snapshots,
            organization_id,
            audience,
            page_size=self._page_size,
            start_after=after,
            record_limit=self._stale_members_max,
        )

    async def _resolve(self, organization_id: str, user_ids: Sequence[str]) -> list[Recipient]:
        """Profiles then suppressions, in member order; members without a profile (deleted
        since the query) and members suppressed on every channel are dropped."""
        contacts = await self._contacts(organization_id, user_ids)
        ordered = [contacts[u] for u in user_ids if u in contacts]
        if not ordered:
            return []
        suppressed = await self._suppressions.suppressed_channels(organization_id, ordered)
        recipients = []
        for contact in ordered:
            channels = suppressed.get(contact.user_id, frozenset())
            if channels is None or channels >= ALL_CHANNELS:
                continue
            recipients.append(Recipient(contact, channels))
        return recipients

    async def _contacts(self, organization_id: str, user_ids: Sequence[str]) -> dict[str, Contact]:
        limit = asyncio.Semaphore(self._profile_concurrency)

        async def chunk(
            ids: Sequence[str],
        ) -> tuple[dict[str, Contact], UpstreamUnavailableError | None]:
            async with limit:
                return await self._profile_chunk(organization_id, ids)

        step = self._profile_batch_size
        parts = await _gather_all(
            [chunk(user_ids[i : i + step]) for i in range(0, len(user_ids), step)]
        )
        found: dict[str, Contact] = {}
        failures = []
        for contacts, failure in parts:
            found.update(contacts)
            if failure is not None:
                failures.append((failure, len(contacts)))
        if failures:  # one line per batch, not one per chunk
            log.warning(
                "%s unavailable (%s): %d of %d profiles served from cache",
                self._api.name,
                failures[0][0].detail,
                sum(n for _, n in failures),
                len(found),
            )
        return found

    async def _profile_chunk(
        self, organization_id: str, ids: Sequence[str]
    ) -> tuple[dict[str, Contact], UpstreamUnavailableError | None]:
        """The chunk's contacts, live or all cached; the failure is returned when cached ones
        stood in. Partly cached is not good enough: skipping the rest would silently drop
        members from a send whose checkpoint then moves past them."""
        try:
            contacts = await self._api.profiles(organization_id, ids)
        except UpstreamUnavailableError as exc:
            cached = {u: self._profiles.get((organization_id, u)) for u in ids}
            missing = sum(entry is None for entry in cached.values())
            if missing:
                raise UpstreamUnavailableError(
                    self._api.name,
                    f"{exc.detail}; {missing} of {len(ids)} profiles not cached",
                    metadata=exc.metadata,
                ) from exc
            return {u: e.value for u, e in cached.items() if e is not None}, exc
        for user_id, contact in contacts.items():
            self._profiles.put((organization_id, user_id), contact)
        return contacts, None

    async def _count(self, organization_id: str, audience: Audience) -> int:
        key = snapshot_key(organization_id, audience)
        try:
            count = await self._api.count(organization_id, audience)
        except UpstreamUnavailableError as exc:
            what = f"count of {audience.segment_id or audience.audience_id}"
            return stale_copy(self._counts, key, exc, self._api.name, what)
        self._counts.put(key, count)
        return count


def _told(lookups: CacheLookups | None, cache: str) -> Callable[[bool], None] | None:
    if lookups is None:
        return None
    return lambda hit: lookups(cache, hit)


def just_below(user_id: str) -> str:
    """A string before `user_id` in code point order with (practically) nothing between: the
    user id with its last character decremented and padded with the highest code point. What
    lies between still comes first on the page, and `_contains` reads on past it."""
    if not user_id:
        return ""
    last = ord(user_id[-1])
    if last == 0:
        return user_id[:-1]
    below = last - 1 if not 0xD800 <= last - 1 <= 0xDFFF else 0xD7FF  # no lone surrogates
    return user_id[:-1] + chr(below) + "\U0010ffff" * 4


def _unknown(audiences: Sequence[Audience], exc: SegmentNotFoundError) -> FailedPreconditionError:
    """The data service's 404 as every audience source reports a missing segment."""
    index = next(i for i, a in enumerate(audiences) if a.segment_id == exc.segment_id)
    return unknown_segment(index, audiences[index])


async def _gather_all(calls: Sequence[Awaitable[T]]) -> list[T]:
    """All results in order. Every call runs to its end (a handful of small requests), so that
    when several fail the error raised is the first audience's, whichever answered first: the
    same request gets the same answer every time."""
    outcomes = await asyncio.gather(*calls, return_exceptions=True)
    for outcome in outcomes:
        if isinstance(outcome, BaseException):
            raise outcome
    return cast("list[T]", outcomes)
