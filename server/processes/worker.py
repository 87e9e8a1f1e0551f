"""The worker side of worker-process mode: which worker this process is, the signal that tells
the supervisor it serves, and its end when the supervisor is gone.

The supervisor starts each worker as `python -m server.cli serve --worker-index I --ready-fd F`
(hidden options: an operator never types them). Worker 0 runs the background workers
(scheduler, executor, delivery, trigger release, auto-winner, outbox relay), so none ever runs
twice because of the count. Every worker runs the NATS inbound consumers (JetStream spreads the
events over them, as over replicas) and hands over the triggers its own intake fired.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import sys
from dataclasses import dataclass

PR_SET_PDEATHSIG = 1  # linux/prctl.h
BACKGROUND_WORKER = 0


@dataclass(frozen=True)
class WorkerRole:
    index: int
    ready_fd: int

    @property
    def background(self) -> bool:
        """Only one worker per server runs the background workers (not the inbound
        consumers: every worker runs those)."""
        return self.index == BACKGROUND_WORKER

    def announce_ready(self) -> None:
        """Tell the supervisor this worker serves (it waits for this line, or for EOF when the
        worker exits before serving)."""
        with contextlib.suppress(OSError):
            os.write(self.ready_fd, b"ready\n")
            os.close(self.ready_fd)


def end_with_supervisor() -> None:
    """SIGTERM this process when its parent dies, so a supervisor killed with SIGKILL leaves no
    worker holding the port (Linux; elsewhere a no-op)."""
    if not sys.platform.startswith("linux"):
        return
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
