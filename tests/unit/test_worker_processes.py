"""Worker-process mode without processes: how many workers a configuration gets (and when more
than one is refused), each worker's share of a per-server budget, and the supervisor's hold on
a port (docs/worker-processes.md)."""

from __future__ import annotations

import os
import socket
from typing import Any

import pytest

from server.composition.factories import share_per_worker
from server.processes.count import worker_count
from server.processes.reservation import reserve
from server.settings import Settings
from server.startup import StartupError

NATS = "nats://127.0.0.1:4222"
REDIS = "redis://127.0.0.1:6379"
POSTGRES = "postgresql+asyncpg://postgres@127.0.0.1/campaign"


def settings(**values: Any) -> Settings:
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


def test_the_embedded_default_runs_one_process() -> None:
    assert worker_count(settings()) == 1


def test_production_with_nats_and_redis_runs_a_worker_per_core() -> None:
    production = settings(database_url=POSTGRES, nats_url=NATS, redis_url=REDIS)
    assert worker_count(production) == (os.cpu_count() or 1)


def test_production_without_redis_runs_one_process_by_default() -> None:
    assert worker_count(settings(database_url=POSTGRES, nats_url=NATS)) == 1


def test_an_explicit_count_wins_over_the_default() -> None:
    both = settings(nats_url=NATS, redis_url=REDIS, server_workers=3)
    assert worker_count(both) == 3
    assert worker_count(settings(database_url=POSTGRES, server_workers=1)) == 1


def test_more_than_one_worker_without_nats_and_redis_is_refused_naming_them() -> None:
    with pytest.raises(StartupError) as refused:
        worker_count(settings(database_url=POSTGRES, redis_url=REDIS, server_workers=2))
    assert str(refused.value).startswith("CAMPAIGN_SERVER_WORKERS=2 needs CAMPAIGN_NATS_URL:")
    with pytest.raises(StartupError, match="needs CAMPAIGN_NATS_URL and CAMPAIGN_REDIS_URL"):
        worker_count(settings(server_workers=4))


@pytest.mark.parametrize(("workers", "share"), [(None, 8), (1, 8), (2, 4), (3, 3), (8, 1), (16, 1)])
def test_the_inbound_concurrency_is_split_over_the_workers(workers: int | None, share: int) -> None:
    """Per server: the single process keeps all of it, N workers take a share each, rounded
    up and never 0."""
    configured = settings(nats_url=NATS, redis_url=REDIS, server_workers=workers)
    assert share_per_worker(8, configured) == share


def test_a_reserved_port_is_concrete_and_refused_to_anyone_else() -> None:
    held = reserve("127.0.0.1:0", "CAMPAIGN_GRPC_ADDRESS")
    try:
        host, port = held.address.rsplit(":", 1)
        assert host == "127.0.0.1"
        assert int(port) > 0
        with pytest.raises(StartupError, match=r"\(CAMPAIGN_GRPC_ADDRESS\): address already"):
            reserve(held.address, "CAMPAIGN_GRPC_ADDRESS")
        # A worker binds it beside the supervisor's hold, with SO_REUSEPORT.
        with socket.create_server(("127.0.0.1", int(port)), reuse_port=True):
            pass
    finally:
        held.close()


def test_an_address_workers_cannot_share_is_refused() -> None:
    with pytest.raises(StartupError, match="CAMPAIGN_GRPC_ADDRESS must be host:port"):
        reserve("unix:/tmp/campaign.sock", "CAMPAIGN_GRPC_ADDRESS")
