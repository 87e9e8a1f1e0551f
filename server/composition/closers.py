"""What to close at shutdown: one list, closed in the reverse of the order it was opened."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

Close = Callable[[], Awaitable[None]]


class Closers:
    """Each factory registers a resource's close as it creates the resource; shutdown closes
    them last-opened first, so nothing is closed while something opened after it still uses it
    (the database store, opened first, is closed last)."""

    def __init__(self) -> None:
        self._closes: list[Close] = []

    def register(self, close: Close) -> None:
        self._closes.append(close)

    async def close_all(self) -> None:
        while self._closes:
            await self._closes.pop()()
