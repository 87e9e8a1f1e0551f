"""Set algebra over sorted user_id streams without holding any of them in memory.

Each audience is an ascending, paged stream; includes intersect (BR-CAM-002.7, AND) by a
leapfrog join and excludes union (OR) by probing every exclude stream for each survivor. Memory is
one page per stream, whatever the audience size. Ids compare as Python strings (code points, the
same order as UTF-8 bytes and Postgres COLLATE "C"), the order the data service promises.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class IdPage:
    """Ids strictly ascending and all > the `after` asked for; `next_after` None at the end."""

    user_ids: Sequence[str]
    next_after: str | None


FetchPage = Callable[[str], Awaitable[IdPage]]


class IdCursor:
    """A forward-only position in one sorted stream, fetching pages on demand."""

    def __init__(self, fetch: FetchPage, *, after: str = "") -> None:
        self._fetch = fetch
        self._page: Sequence[str] = ()
        self._index = 0
        self._next_after: str | None = after

    async def first_at_or_after(self, target: str) -> str | None:
        """Advance to the first id >= target and return it (None when the stream ends)."""
        while True:
            if self._index < len(self._page) and self._page[-1] >= target:
                self._index = bisect_left(self._page, target, lo=self._index)
                return self._page[self._index]
            if self._next_after is None:
                self._page, self._index = (), 0
                return None
            await self._load(self._next_after)

    async def _load(self, after: str) -> None:
        page = await self._fetch(after)
        self._page, self._index, self._next_after = page.user_ids, 0, page.next_after


async def merged_ids(
    includes: Sequence[IdCursor], excludes: Sequence[IdCursor]
) -> AsyncIterator[str]:
    """Ascending ids in every include and in no exclude. No include means nobody: an audience
    made only of exclusions must not silently become "everyone"."""
    if not includes:
        return
    candidate = ""
    while True:
        found = await _intersection_at_or_after(includes, candidate)
        if found is None:
            return
        if not await _in_any(excludes, found):
            yield found
        candidate = found + "\0"  # the smallest string greater than `found`


async def _intersection_at_or_after(cursors: Sequence[IdCursor], target: str) -> str | None:
    """Leapfrog: raise the target to each cursor's next id until all of them agree."""
    agreed = 0
    index = 0
    while agreed < len(cursors):
        head = await cursors[index].first_at_or_after(target)
        if head is None:
            return None
        if head == target:
            agreed += 1
        else:
            target, agreed = head, 1
        index = (index + 1) % len(cursors)
    return target


async def _in_any(cursors: Sequence[IdCursor], user_id: str) -> bool:
    found = False
    for cursor in cursors:  # every cursor advances, so later probes start closer
        found = (await cursor.first_at_or_after(user_id) == user_id) or found
    return found
