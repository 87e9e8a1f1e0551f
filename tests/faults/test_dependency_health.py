"""What health says about each shared dependency, on one real server process: with Redis
unreachable and NATS cut it stays SERVING and keeps accepting writes (their events wait in the
outbox, the relay retries); with the database gone it reports NOT_SERVING, and SERVING again
once the database is back.

The database and NATS are taken away through TCP proxies of the test's own
(tests/support/tcp_proxy.py): the shared servers are never touched. Redis points at a port
nobody listens on. Both proxies are back before the server stops, so it stops as it would.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import grpc
import pytest
from campaign.v1 import campaign_service_pb2_grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from tests.e2e.helpers import RPC_TIMEOUT, bearer, draft_request, mint_token, new_org
from tests.integration.nats_support import (
    SHARED_NATS_HOST,
    SHARED_NATS_PORT,
    StreamNames,
    delete_stream,
    free_port,
    shared_nats_url,
)
from tests.support.migrated import migrated_postgres_url
from tests.support.server_process import ServerProcess, server_env, start_server
from tests.support.services import POSTGRES_HOST, POSTGRES_PORT
from tests.support.tcp_proxy import TcpProxy

pytestmark = [pytest.mark.e2e, pytest.mark.postgres, pytest.mark.nats]

WAIT = 20.0
SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING


@pytest.fixture
def proxied_server(tmp_path: Path) -> Iterator[tuple[ServerProcess, TcpProxy, TcpProxy]]:
    url, names = shared_nats_url(), StreamNames.fresh()
    with (
        migrated_postgres_url() as database_url,
        TcpProxy(POSTGRES_HOST, POSTGRES_PORT) as database,
        TcpProxy(SHARED_NATS_HOST, SHARED_NATS_PORT) as nats,
    ):
        env = server_env(tmp_path / "data")
        env |= {
            "CAMPAIGN_DATABASE_URL": database_url.replace(
                f":{POSTGRES_PORT}/", f":{database.port}/"
            ),
            "CAMPAIGN_NATS_URL": f"nats://127.0.0.1:{nats.port}",
            "CAMPAIGN_NATS_STREAM": f"{names.stream}_EVENTS",
            "CAMPAIGN_NATS_DELIVERY_STREAM": names.stream,
            "CAMPAIGN_NATS_INBOUND_STREAM": f"{names.stream}_IN",
            "CAMPAIGN_NATS_SUBJECT_PREFIX": names.prefix,
            "CAMPAIGN_REDIS_URL": f"redis://127.0.0.1:{free_port()}/0",
        }
        server = start_server(env)
        try:
            yield server, database, nats
        finally:
            database.restore()
            nats.restore()
            server.stop()
            for stream in (names.stream, f"{names.stream}_EVENTS", f"{names.stream}_IN"):
                asyncio.run(delete_stream(url, stream))


def health(server: ServerProcess) -> int:
    with grpc.insecure_channel(server.address) as channel:
        reply = health_pb2_grpc.HealthStub(channel).Check(
            health_pb2.HealthCheckRequest(service=""), timeout=RPC_TIMEOUT
        )
    return int(reply.status)


def eventually(check: Callable[[], bool], what: str, server: ServerProcess) -> None:
    deadline = time.monotonic() + WAIT
    while not check():
        if time.monotonic() > deadline:
            pytest.fail(f"{what} not within {WAIT} s:\n{server.log[-3000:]}")
        time.sleep(0.1)


def relay_failures(server: ServerProcess) -> int:
    return sum(
        1 for line in server.log.splitlines() if "worker step failed" in line and "outbox" in line
    )


def test_health_follows_the_database_and_not_the_broker_or_redis(proxied_server):
    server, database, nats = proxied_server
    org = new_org()
    assert "dependency unreachable at start" in server.log  # Redis, reported, not fatal
    assert health(server) == SERVING

    nats.cut()
    failures = relay_failures(server)
    with grpc.insecure_channel(server.address) as channel:
        created = campaign_service_pb2_grpc.CampaignServiceStub(channel).CreateCampaign(
            draft_request(), metadata=bearer(mint_token(org)), timeout=RPC_TIMEOUT
        )
    eventually(lambda: relay_failures(server) > failures, "the relay failing on NATS", server)
    assert created.campaign.campaign_id  # the write was taken; its event waits in the outbox
    assert health(server) == SERVING

    database.cut()
    eventually(lambda: health(server) == NOT_SERVING, "NOT_SERVING", server)
    database.restore()
    eventually(lambda: health(server) == SERVING, "SERVING again", server)
