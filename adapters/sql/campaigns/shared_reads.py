"""Identical reads asked together share one statement: ListCampaigns' first pages.

A dashboard's list load is one organization's first page, asked by everyone watching that
organization's campaigns, again and again; under load the same page is asked several times
while its statement runs. Here, per key (the organization and the page asked), at most one
statement runs at a time; the reads asked meanwhile wait for it to end and share the next one.
As in the Get lookup (lookup.py), a read that finds nothing running starts at once, unless the
key is crowded (reads queued behind its last statement): then it waits up to `gather_s` for
others to share its statement, and one that found no company ends the crowding.

- Read-your-writes holds: a statement starts after every read it answers was asked.
- Callers share the rows, never what is built from them: each builds its own page.
- A failed statement fails every read that shared it, each with an error of its own (the
  statement has no per-read part that could be retried apart).
- A caller that leaves does not cancel the statement others wait for.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from adapters.sql.campaigns.lookup import error_for_each

T = TypeVar("T")

CROWD_MEMORY_S = 1.0  # a key stays crowded this long after the last sign of it
MAX_CROWDED_KEYS = 1_024  # keys remembered as crowded; older ones are forgotten first


@dataclass(slots=True)
class _Key(Generic[T]):
    """What one key's reads share: the statement running, the reads waiting for the next.
    Kept only while a statement runs or reads wait."""

    running: bool = False
    waiting: list[asyncio.Future[T]] = field(default_factory=list)
    gathering: asyncio.TimerHandle | None = None


class SharedReads(Generic[T]):
    def __init__(self, gather_s: float) -> None:
        """`gather_s`: how long a read waits for company while its key is crowded (0: never)."""
        self._gather_s = gather_s
        self._keys: dict[Hashable, _Key[T]] = {}
        self._crowded_at: dict[Hashable, float] = {}  # loop time each key was last crowded
        self._tasks: set[asyncio.Task[None]] = set()
        self.statements = 0  # statements run so far (what the tests count)

    def crowded(self, key: Hashable) -> bool:
        """Whether a read of `key` that finds nothing running waits for company."""
        since = self._crowded_at.get(key)
        return (
            self._gather_s > 0
            and since is not None
            and asyncio.get_running_loop().time() - since < CROWD_MEMORY_S
        )

    def _crowd(self, key: Hashable, crowded: bool) -> None:
        self._crowded_at.pop(key, None)
        if not crowded:
            return
        if len(self._crowded_at) >= MAX_CROWDED_KEYS:
            del self._crowded_at[next(iter(self._crowded_at))]  # the least recently crowded
        self._crowded_at[key] = asyncio.get_running_loop().time()

    async def read(self, key: Hashable, run: Callable[[], Awaitable[T]]) -> T:
        """What `run()` answers, from a statement asked after this call began."""
        state = self._keys.setdefault(key, _Key())
        if not state.running and not state.waiting:
            if not self.crowded(key):
                return await self._alone(key, state, run)
            state.gathering = asyncio.get_running_loop().call_later(
                self._gather_s, self._gathered, key, state, run
            )
        answer: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        state.waiting.append(answer)
        return await asyncio.shield(answer)

    async def _alone(self, key: Hashable, state: _Key[T], run: Callable[[], Awaitable[T]]) -> T:
        state.running = True
        try:
            self.statements += 1
            return await run()
        finally:
            state.running = False
            self._crowd(key, bool(state.waiting))
            self._next(key, state, run)

    def _gathered(self, key: Hashable, state: _Key[T], run: Callable[[], Awaitable[T]]) -> None:
        state.gathering = None
        self._crowd(key, len(state.waiting) > 1)  # nobody came: the load is over
        self._next(key, state, run)

    def _next(self, key: Hashable, state: _Key[T], run: Callable[[], Awaitable[T]]) -> None:
        """Start the statement the waiting reads share, or forget an idle key."""
        if state.running or state.gathering is not None:
            return
        if not state.waiting:
            self._keys.pop(key, None)
            return
        answers, state.waiting = state.waiting, []
        state.running = True
        task = asyncio.get_running_loop().create_task(self._shared(key, state, run, answers))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _shared(
        self,
        key: Hashable,
        state: _Key[T],
        run: Callable[[], Awaitable[T]],
        answers: list[asyncio.Future[T]],
    ) -> None:
        try:
            self.statements += 1
            value = await run()
        except BaseException as exc:
            for answer, error in zip(answers, error_for_each(exc, len(answers)), strict=True):
                if answer.done():
                    continue
                if isinstance(exc, asyncio.CancelledError):
                    answer.cancel()
                else:
                    answer.set_exception(error)
            if not isinstance(exc, Exception):
                raise
        else:
            for answer in answers:
                if not answer.done():
                    answer.set_result(value)
        finally:
            state.running = False
            if state.waiting:
                self._crowd(key, True)
            self._next(key, state, run)
