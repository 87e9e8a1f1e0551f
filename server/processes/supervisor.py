"""The supervisor of worker-process mode: one process that holds the ports, migrates once,
starts the workers, restarts one that dies and drains them all on SIGTERM or SIGINT.

It serves nothing itself and opens no connection but the migration's. A worker that exits
before it serves at the start (a wrong setting, an unreachable database) stops the whole start
with exit code 2, as the single process would; one that dies later is restarted, after a
backoff that doubles from 1 s to 30 s (reset once a worker has served for a minute), and each
exit is logged with its code. On SIGTERM every worker gets SIGTERM and drains as the single
process does (CAMPAIGN_SHUTDOWN_GRACE for calls in flight, then its background workers); the
supervisor exits 0 once all have exited 0, and kills a worker still running well after the
grace (exit code 1 then).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass

import structlog

from server.composition import migrate_database
from server.http.server import SETTING as HTTP_SETTING
from server.listen_address import SETTING as GRPC_SETTING
from server.processes.reservation import PortReservation, reserve
from server.settings import Settings
from server.tokens import load_keys

RESTART_FIRST_DELAY = 1.0
RESTART_MAX_DELAY = 30.0
STABLE_SECONDS = 60.0  # a worker that served this long restarts after the first delay again
STOP_MARGIN = 15.0  # beyond the grace: the HTTP server's own 5 s, the background workers' stop
log = structlog.get_logger("campaign.supervisor")


@dataclass
class Worker:
    index: int
    process: asyncio.subprocess.Process | None = None
    started_at: float = 0.0

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None else None

    def terminate(self) -> None:
        if self.process is not None and self.process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self.process.send_signal(signal.SIGTERM)


class Supervisor:
    def __init__(
        self, settings: Settings, count: int, grpc: PortReservation, http: PortReservation
    ):
        self.settings = settings
        self.workers = [Worker(index) for index in range(count)]
        self.env = {
            **os.environ,
            "CAMPAIGN_GRPC_ADDRESS": grpc.address,
            "CAMPAIGN_HTTP_ADDRESS": http.address,
            "CAMPAIGN_AUTO_MIGRATE": "false",  # the supervisor migrated, once
            # The count, default or not: a per-server budget is split over it
            # (server/composition/factories.py, share_per_worker).
            "CAMPAIGN_SERVER_WORKERS": str(count),
        }
        self.stopping = asyncio.Event()

    async def start(self, worker: Worker) -> bool:
        """Start `worker` and wait until it serves; False when it exited first."""
        read_fd, write_fd = os.pipe()
        try:
            worker.process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "server.cli",
                "serve",
                "--worker-index",
                str(worker.index),
                "--ready-fd",
                str(write_fd),
                env=self.env,
                pass_fds=(write_fd,),
            )
        finally:
            os.close(write_fd)
        try:
            # EOF (b"") when the worker exits before it serves.
            ready = await asyncio.get_running_loop().run_in_executor(None, os.read, read_fd, 16)
        finally:
            os.close(read_fd)
        worker.started_at = time.monotonic()
        if ready:
            log.info("worker serving", worker=worker.index, pid=worker.pid)
        return bool(ready)

    async def watch(self, worker: Worker) -> None:
        """Restart `worker` whenever it exits, until the supervisor stops."""
        delay = RESTART_FIRST_DELAY
        while True:
            assert worker.process is not None
            code = await worker.process.wait()
            if self.stopping.is_set():
                return
            if time.monotonic() - worker.started_at > STABLE_SECONDS:
                delay = RESTART_FIRST_DELAY
            log.warning(
                "worker exited; restarting it",
                worker=worker.index,
                pid=worker.pid,
                exit_code=code,
                restart_in_seconds=delay,
            )
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.stopping.wait(), delay)
            if self.stopping.is_set():
                return
            delay = min(delay * 2, RESTART_MAX_DELAY)
            await self.start(worker)
            if self.stopping.is_set():  # started while the others were told to stop
                worker.terminate()

    async def drain(self, watchers: list[asyncio.Task[None]]) -> int:
        """SIGTERM to every worker, then wait for each; 0 when all drained and exited 0."""
        self.stopping.set()
        log.info("stopping workers", grace_seconds=self.settings.shutdown_grace)
        for worker in self.workers:
            worker.terminate()
        pending = [w.process.wait() for w in self.workers if w.process is not None]
        deadline = self.settings.shutdown_grace + STOP_MARGIN
        try:
            codes = await asyncio.wait_for(asyncio.gather(*pending, *watchers), deadline)
        except TimeoutError:
            for watcher in watchers:
                watcher.cancel()
            for worker in self.workers:
                if worker.process is not None and worker.process.returncode is None:
                    log.error("worker did not stop in time; killed", worker=worker.index)
                    worker.process.kill()
                    await worker.process.wait()
            return 1
        failed = [code for code in codes if code not in (0, None)]
        return 1 if failed else 0

    async def run(self, announce: Callable[[], None]) -> int:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        started = await asyncio.gather(*(self.start(w) for w in self.workers))
        if not all(started):
            failed = [w.index for w, ok in zip(self.workers, started, strict=True) if not ok]
            log.error("worker exited before serving; stopping the others", workers=failed)
            await self.drain([])
            return 2
        if stop.is_set():  # SIGTERM while the workers were starting
            return await self.drain([])
        announce()
        watchers = [
            asyncio.create_task(self.watch(w), name=f"watch-{w.index}") for w in self.workers
        ]
        await stop.wait()
        code = await self.drain(watchers)
        log.info("stopped", exit_code=code)
        return code


async def supervise(settings: Settings, count: int, announce: Callable[[str, str], None]) -> int:
    """Serve with `count` worker processes; `announce(grpc_address, http_address)` once all of
    them serve. StartupError (before any worker starts) when a port is taken by someone else,
    the key is missing or the database cannot be migrated."""
    load_keys(settings)  # a missing secret is refused once, here, not by every worker
    grpc = reserve(settings.grpc_address, GRPC_SETTING)
    try:
        http = reserve(settings.http_address, HTTP_SETTING)
    except BaseException:
        grpc.close()
        raise
    try:
        if settings.migrate_on_start:
            await migrate_database(settings)
        supervisor = Supervisor(settings, count, grpc, http)
        log.info("starting workers", workers=count, pid=os.getpid())
        return await supervisor.run(lambda: announce(grpc.address, http.address))
    finally:
        grpc.close()
        http.close()
