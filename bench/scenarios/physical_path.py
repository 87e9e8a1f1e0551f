"""The physical path of a run: the fastest this machine moves the same messages, on both cores.

The same message rows COPYed by raw asyncpg in one process while, in another, raw nats-py
publishes the same payloads to JetStream with an ack window (`publish_async`, Nats-Msg-Id set),
both started at the same instant; its time is from that instant until the later of the two is
done (every row committed, every publish acknowledged). Before the start, each process builds
its own rows or payloads (as if streamed from elsewhere; built in the child, because a child
reading the parent's million objects would copy their pages as it touches their reference
counts), keeps them out of the garbage collector's scans, connects and creates its table or
stream.

This is the limit of the design (persist every message, hand every message to the broker), not
of Python: a run that reaches it does nothing beyond the two writes, and uses both cores.
"""

from __future__ import annotations

import asyncio
import gc
import multiprocessing
import time
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.synchronize import Event
from typing import Any

import asyncpg
import nats

from adapters.sql.execution.messages import COLUMNS as MESSAGE_COLUMNS

TABLE = "bench_physical_messages"
READY_TIMEOUT_S = 600.0  # building a million rows comes first

Records = list[tuple[Any, ...]]
Payloads = list[tuple[str, bytes]]


async def _copy(dsn: str, records: Records, start: Event, ready: Connection) -> float:
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(f"CREATE TABLE {TABLE} (LIKE messages INCLUDING ALL); CHECKPOINT")
        ready.send("ready")
        await asyncio.to_thread(start.wait)
        await conn.copy_records_to_table(TABLE, records=records, columns=MESSAGE_COLUMNS)
        done = time.monotonic()
        await conn.execute(f"DROP TABLE {TABLE}")
        return done
    finally:
        await conn.close()


@dataclass(frozen=True)
class Broker:
    """Where the physical path publishes: a stream of its own, and nats-py's ack window."""

    url: str
    stream: str
    subject: str
    window: int


async def _publish(broker: Broker, payloads: Payloads, start: Event, ready: Connection) -> float:
    nc = await nats.connect(broker.url, connect_timeout=5)
    try:
        js = nc.jetstream(timeout=60.0, publish_async_max_pending=broker.window)
        await js.add_stream(name=broker.stream, subjects=[broker.subject], duplicate_window=600.0)
        ready.send("ready")
        await asyncio.to_thread(start.wait)
        acks = [
            await js.publish_async(broker.subject, payload, headers={"Nats-Msg-Id": mid})
            for mid, payload in payloads
        ]
        await asyncio.gather(*acks)
        done = time.monotonic()
        info = await js.stream_info(broker.stream)
        if info.state.messages != len(payloads):
            raise RuntimeError(f"physical stream holds {info.state.messages} != {len(payloads)}")
        return done
    finally:
        await nc.close()


def _copy_process(dsn: str, build: Callable[[], Records], start: Event, ready: Connection) -> None:
    records = build()
    gc.freeze()
    ready.send(asyncio.run(_copy(dsn, records, start, ready)))


def _publish_process(
    broker: Broker, build: Callable[[], Payloads], start: Event, ready: Connection
) -> None:
    payloads = build()
    gc.freeze()
    ready.send(asyncio.run(_publish(broker, payloads, start, ready)))


def overlapped_seconds(
    dsn: str,
    broker: Broker,
    records: Callable[[], Records],
    payloads: Callable[[], Payloads],
) -> float:
    """Seconds from the common start until both the COPY and the publishing are done;
    `records` and `payloads` build the inputs (in the children, before the start)."""
    context = multiprocessing.get_context("fork")
    start = context.Event()
    pipes = [context.Pipe(duplex=False) for _ in range(2)]
    workers = [
        context.Process(target=_copy_process, args=(dsn, records, start, pipes[0][1])),
        context.Process(target=_publish_process, args=(broker, payloads, start, pipes[1][1])),
    ]
    try:
        for worker in workers:
            worker.start()
        for receiving, _ in pipes:
            if not receiving.poll(READY_TIMEOUT_S) or receiving.recv() != "ready":
                raise RuntimeError("a physical-path process did not get ready")
        started = time.monotonic()
        start.set()
        finished = []
        for (receiving, _), worker in zip(pipes, workers, strict=True):
            while not receiving.poll(1.0):
                if not worker.is_alive():
                    raise RuntimeError(f"physical-path process exited {worker.exitcode}")
            finished.append(receiving.recv())
        return max(finished) - started
    finally:
        for worker in workers:
            worker.join(10)
            if worker.is_alive():
                worker.kill()
