"""One audience's member pages, live from the data service or, when it fails, from the last good
complete member list (EC-CAM-002: use the last good result, with a warning).

A live stream started from the beginning records its ids; when it reaches the end, the list
becomes the audience's snapshot for `stale_ttl` seconds. Lists longer than the cache's bound are
not recorded, which is where "never the whole audience in memory" wins over the fallback: a very
large audience fails (DependencyUnavailableError) instead of being held in RAM just in case.
"""

from __future__ import annotations

import logging
from bisect import bisect_right
from collections.abc import Hashable
from dataclasses import dataclass

from adapters.http.cache import TtlCache
from adapters.http.data_service import DataServiceApi
from adapters.http.errors import UpstreamUnavailableError
from adapters.http.id_streams import IdPage
from domain.audience.model import Audience

log = logging.getLogger("campaign.http")


@dataclass(frozen=True, slots=True)
class MemberSnapshot:
    """A complete, ascending member list as the data service last returned it."""

    user_ids: tuple[str, ...]

    def page_after(self, after: str, limit: int) -> IdPage:
        start = bisect_right(self.user_ids, after)
        chunk = self.user_ids[start : start + limit]
        more = start + limit < len(self.user_ids)
        return IdPage(chunk, chunk[-1] if more and chunk else None)


SnapshotCache = TtlCache[Hashable, MemberSnapshot]


def snapshot_key(organization_id: str, audience: Audience) -> Hashable:
    """What the data service resolves, so two campaigns on one segment share a snapshot."""
    if audience.segment_id:
        return (organization_id, "segment", audience.segment_id)
    return (organization_id, "query", audience.query)


class MemberPages:
    """The `FetchPage` of one IdCursor. Once it falls back, it stays on the snapshot for the rest
    of the stream: one consistent list, and no hammering of a service that just failed."""

    def __init__(
        self,
        api: DataServiceApi,
        snapshots: SnapshotCache,
        organization_id: str,
        audience: Audience,
        *,
        page_size: int,
        start_after: str,
        record_limit: int,
    ) -> None:
        self._api = api
        self._snapshots = snapshots
        self._organization_id = organization_id
        self._audience = audience
        self._key = snapshot_key(organization_id, audience)
        self._page_size = page_size
        self._record_limit = record_limit
        self._recorded: list[str] | None = [] if start_after == "" else None
        self._stale: MemberSnapshot | None = None

    async def __call__(self, after: str) -> IdPage:
        if self._stale is not None:
            return self._stale.page_after(after, self._page_size)
        try:
            page = await self._api.members(
                self._organization_id, self._audience, after=after, limit=self._page_size
            )
        except UpstreamUnavailableError as exc:
            cached = self._snapshots.get(self._key)
            if cached is None:
                raise
            log.warning(
                "%s unavailable (%s): audience %s served from its member list of %.0fs ago "
                "(%d members)",
                self._api.name,
                exc.detail,
                self._audience.segment_id or self._audience.audience_id or "query",
                self._snapshots.age(cached),
                len(cached.value.user_ids),
            )
            self._stale = cached.value
            return self._stale.page_after(after, self._page_size)
        self._record(page)
        return page

    def _record(self, page: IdPage) -> None:
        if self._recorded is None:
            return
        self._recorded.extend(page.user_ids)
        if len(self._recorded) > self._record_limit:
            self._recorded = None
        elif page.next_after is None:
            self._snapshots.put(self._key, MemberSnapshot(tuple(self._recorded)))
            self._recorded = None
