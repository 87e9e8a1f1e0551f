"""How many worker processes `serve` runs (CAMPAIGN_SERVER_WORKERS).

Worker processes are replicas on one machine: what replicas share through NATS and Redis, the
workers must share too. Without NATS the live metric signals of one process would not reach the
streams served by another (they would lag by the one-second refresh); without Redis each process
would keep rate limits of its own, and a fallback message reserved in one could exceed a limit
the executor fills in another. So more than one worker needs both, and the default is the
number of cores only in production mode with both set; otherwise it is 1 (today's single
process)."""

from __future__ import annotations

import os

from server.settings import Settings
from server.startup import StartupError

SETTING = "CAMPAIGN_SERVER_WORKERS"


def worker_count(settings: Settings) -> int:
    """CAMPAIGN_SERVER_WORKERS, else its default; StartupError when more than one is asked
    for where processes could not share the state replicas share."""
    missing = settings.missing_for_workers
    if settings.server_workers is None:
        if settings.is_production and not missing:
            return os.cpu_count() or 1
        return 1
    if settings.server_workers > 1 and missing:
        raise StartupError(
            f"{SETTING}={settings.server_workers} needs " + " and ".join(missing) + ": worker "
            "processes share live metric signals through NATS and rate limits through Redis, "
            f"as replicas do; set them, or {SETTING}=1 (docs/worker-processes.md)"
        )
    return settings.server_workers
