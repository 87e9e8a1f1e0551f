"""A run's rendering and link signing in a process of their own: another core for a big run.

A server process runs its event loop on one core, and a big run kept it busy end to end: the
executor's own work (throttling, messages, the COPY, the broker's acknowledgements) and two pure
CPU stages, rendering each recipient's content (domain.execution.planning) and signing each
marketing email's tracking links (domain.execution.tracked_content), together more than a third
of the run's CPU (docs/performance.md). A worker thread does not help: it takes turns with the
event loop for the interpreter. Here both stages go to a child process,
`python -m adapters.runtime.planning_child`, which imports the domain and nothing of the
server; the results are the same pure functions' own, and the server's core is left for the
rest. Requests and answers are pickled frames on the child's stdin and stdout (the child's
docstring has the format); a batch goes as tuples.

Small batches stay in this process (a trigger's message, a relay's handful): a round trip to the
child costs more than they do. So does every batch while the child is starting (the first big
batch starts it and is done here meanwhile), and a batch whose child failed or died: the child
is then stopped and the next big batch starts a new one, so a killed child costs one batch done
here, never a run, and never a different result.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import pickle
import subprocess
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any

import structlog

import adapters
from adapters.runtime.planning_child import (
    CHANNELS,
    COUNT_FIELDS,
    FAILED,
    LENGTH_BYTES,
    PlannedRows,
    recipient_row,
)
from domain.audience.model import Recipient
from domain.execution.model import ExecutionCounts, Message, with_content
from domain.execution.planners import InlineTracker, ThreadPlanner
from domain.execution.planning import BatchPlan, CampaignPlan, Draft
from domain.execution.tracked_content import is_marketing_email
from domain.execution.tracking import TrackingLinks

log = structlog.get_logger(__name__)

# Recipients (or messages) from which a batch goes to the child. Chosen, not measured: a trigger's
# or a relay's few messages cost microseconds here, and a round trip to the child is two pickles,
# two pipe writes and two thread hand-offs; a run's batches are 10,000 by default.
OFFLOAD_FROM = 500
CHILD_MODULE = "adapters.runtime.planning_child"
STOP_SECONDS = 5.0
# Where `adapters` is imported from: the child imports it from the same place.
SOURCE_ROOT = str(Path(adapters.__file__).resolve().parents[1])


class ChildFailedError(Exception):
    """The child could not answer (it died, or its work raised): the batch is done here."""


class _Child:
    """One child process, one request at a time. An exchange runs in a worker thread: the
    child writes an answer of megabytes as it makes it, and a pipe holds 64 KiB, so an event
    loop busy with the run's own work would leave the child waiting to be read; a thread
    reads it meanwhile (it holds the interpreter only between reads). A thread also cannot be
    cut off mid-exchange, which would leave the next answer to be read as another request's."""

    def __init__(self, process: subprocess.Popen[bytes]) -> None:
        if process.stdin is None or process.stdout is None:
            raise ValueError("the planning process needs pipes for its stdin and stdout")
        self.process = process
        self._stdin, self._stdout = process.stdin, process.stdout
        self._turn = threading.Lock()
        self.usable = True

    async def call(self, name: str, *args: Any) -> Any:
        return await asyncio.to_thread(self.exchange, name, *args)

    def exchange(self, name: str, *args: Any) -> Any:
        """One request and its answer (blocking: call it on a worker thread)."""
        request = pickle.dumps((name, args), pickle.HIGHEST_PROTOCOL)
        with self._turn:
            if not self.usable:
                raise ChildFailedError("the planning process is gone")
            try:
                self._stdin.write(len(request).to_bytes(LENGTH_BYTES, "big") + request)
                self._stdin.flush()
                header = _read(self._stdout, 1 + LENGTH_BYTES)
                body = _read(self._stdout, int.from_bytes(header[1:], "big"))
            except (OSError, EOFError) as exc:
                self.usable = False
                raise ChildFailedError(f"the planning process is gone: {exc!r}") from exc
        answer = pickle.loads(body)
        if header[:1] == FAILED:
            raise ChildFailedError(f"the planning process failed: {answer}")
        return answer

    async def stop(self) -> None:
        self.usable = False
        await asyncio.to_thread(self._stop)

    def _stop(self) -> None:
        with self._turn:  # after the exchange in flight, if any
            with contextlib.suppress(OSError):
                self._stdin.close()  # end of input: the child returns
            try:
                self.process.wait(STOP_SECONDS)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
            self._stdout.close()


def _read(stream: IO[bytes], size: int) -> bytes:
    data = stream.read(size)
    if len(data) < size:
        raise EOFError(f"{len(data)} of {size} bytes before the end of the pipe")
    return data


class PlanningProcess:
    """A BatchPlanner and a DeliveryTracker (domain.execution.ports) in a child process."""

    def __init__(self, links: TrackingLinks, *, offload_from: int = OFFLOAD_FROM) -> None:
        """`links` must pickle (adapters.tracking.links.SignedTrackingLinks does, as its
        settings): the child signs with its own copy."""
        self._links = links
        self._here = ThreadPlanner()
        self._inline = InlineTracker(links)
        self._offload_from = offload_from
        self._child: _Child | None = None
        self._starting: asyncio.Task[_Child | None] | None = None
        self._source: tuple[CampaignPlan, str, bytes] | None = None
        self._closed = False
        self.offloaded = 0  # batches the child planned or tracked (tests read it)

    async def plan(self, plan: CampaignPlan, recipients: Sequence[Recipient]) -> BatchPlan:
        child = self._ready(len(recipients)) if plan.campaign is not None else None
        if child is not None:
            key, source = self._pickled(plan)
            try:
                # The tuples are made and read on the exchange's thread too: the event loop
                # keeps answering meanwhile (they are tens of milliseconds for a big batch).
                batch = await asyncio.to_thread(_planned, child, key, source, recipients)
            except ChildFailedError as exc:
                await self._lost(child, exc)
            else:
                self.offloaded += 1
                return batch
        return await self._here.plan(plan, recipients)

    async def track(self, messages: Sequence[Message]) -> list[Message]:
        child = self._ready(len(messages))
        if child is not None:
            try:
                handed = await asyncio.to_thread(_tracked, child, messages)
            except ChildFailedError as exc:
                await self._lost(child, exc)
            else:
                self.offloaded += 1
                return handed
        return await self._inline.track(messages)

    async def warm(self) -> bool:
        """Start the child and wait until it answers; False if it could not start. Without
        it the child starts with the first big batch (which is done here meanwhile)."""
        self._ready(self._offload_from)
        if self._starting is not None:
            await asyncio.shield(self._starting)
        return self._child is not None

    async def close(self) -> None:
        self._closed = True
        starting, self._starting = self._starting, None
        if starting is not None:
            await asyncio.shield(starting)
        child, self._child = self._child, None
        if child is not None:
            await child.stop()

    def _ready(self, size: int) -> _Child | None:
        """The child, once it has started; None: do this batch here."""
        if size < self._offload_from or self._closed:
            return None
        if self._child is not None:
            return self._child
        if self._starting is None or self._starting.done():
            self._starting = asyncio.create_task(self._start())
        return None

    async def _start(self) -> _Child | None:
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [SOURCE_ROOT, env.get("PYTHONPATH")]))
        try:
            process = await asyncio.to_thread(
                subprocess.Popen,
                [sys.executable, "-m", CHILD_MODULE],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                env=env,
            )
            child = _Child(process)
            await child.call("start", self._links)
        except (OSError, ChildFailedError) as exc:
            log.warning(
                "planning process failed to start; runs are planned in the server", error=str(exc)
            )
            return None
        if self._closed:
            await child.stop()
            return None
        self._child = child
        return child

    async def _lost(self, child: _Child, error: ChildFailedError) -> None:
        log.warning("planning process lost; the batch is done in the server", error=str(error))
        if self._child is child:
            self._child = None
        await child.stop()

    def _pickled(self, plan: CampaignPlan) -> tuple[str, bytes]:
        """The campaign and templates the plan was made of, pickled once per plan."""
        if self._source is not None and self._source[0] is plan:
            return self._source[1], self._source[2]
        source = pickle.dumps((plan.campaign, dict(plan.templates)), pickle.HIGHEST_PROTOCOL)
        key = hashlib.sha256(source).hexdigest()
        self._source = (plan, key, source)
        return key, source


def _planned(child: _Child, key: str, source: bytes, recipients: Sequence[Recipient]) -> BatchPlan:
    rows = [recipient_row(r) for r in recipients]
    planned: PlannedRows = child.exchange("plan_rows", key, source, rows)
    return _batch_plan(planned, recipients)


def _tracked(child: _Child, messages: Sequence[Message]) -> list[Message]:
    rows = [(m.organization_id, m.message_id, is_marketing_email(m), m.content) for m in messages]
    contents = child.exchange("track_rows", rows)
    return [m if c is None else with_content(m, c) for m, c in zip(messages, contents, strict=True)]


def _batch_plan(planned: PlannedRows, recipients: Sequence[Recipient]) -> BatchPlan:
    rows, counts, holdout, last_user_id = planned
    drafts = [
        Draft(recipients[i], variant, CHANNELS[channel], address, content, missing, error, digest)
        for i, variant, channel, address, content, missing, error, digest in rows
    ]
    values: dict[str, Any] = dict(zip(COUNT_FIELDS, counts, strict=True))
    return BatchPlan(drafts, ExecutionCounts(**values), last_user_id, list(holdout))
