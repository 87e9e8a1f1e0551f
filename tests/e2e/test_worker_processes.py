"""Worker-process mode (issue #15, docs/worker-processes.md) as operators run it: a supervisor
and CAMPAIGN_SERVER_WORKERS=2 workers sharing the gRPC port, on SQLite and on Postgres (NATS and
Redis, which more than one worker needs). One server per backend serves all of it: both workers
take connections, a scheduled campaign runs exactly once (one process runs the background
workers), a worker killed is replaced, events published on NATS are taken by both workers (each
runs the inbound consumers) and an event published twice fires its trigger once, and SIGTERM to
the supervisor drains every worker and exits 0. A port held by a stranger fails the start before
any worker exists.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import socket
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from campaign.v1 import campaign_pb2 as pb
from campaign.v1 import campaign_service_pb2 as svc
from campaign.v1 import execution_pb2 as xpb
from grpc_health.v1 import health_pb2, health_pb2_grpc
from nats.js.errors import NotFoundError

from adapters.nats.inbound import durable_name
from tests.e2e.engine_helpers import (
    ENGINE_OVERRIDES,
    RUN_TIMEOUT,
    AudienceApi,
    contact,
    eventually,
    soon,
)
from tests.e2e.helpers import (
    CampaignApi,
    email,
    in_country,
    mint_token,
    new_org,
    timestamp,
    triggered_request,
)
from tests.e2e.helpers import scheduled_request as campaign_request
from tests.e2e.test_inbound_nats_door import delivery_requests, envelope
from tests.integration.nats_support import (
    StreamNames,
    connection,
    delete_stream,
    shared_nats_url,
)
from tests.support.server_process import (
    SHUTDOWN_GRACE,
    ServerProcess,
    backend_env,
    run_cli,
    start_server,
)
from tests.support.services import require

pytestmark = [pytest.mark.e2e, pytest.mark.nats, pytest.mark.redis]

REDIS_HOST, REDIS_PORT = "127.0.0.1", 6379
WORKERS = 2
CONNECTIONS = 24  # all on one worker of two: 2 in 2**24
RECIPIENTS = 6
STOP_TIMEOUT = SHUTDOWN_GRACE + 20.0  # the grace, the background workers' stop, process exits
NO_QUIET_HOURS = pb.Throttle(quiet_hours=pb.QuietHours(enabled=False))
SPREAD_EVENTS = 20  # one at a time: each goes to whichever worker's pull request waits
SPACING_S = 0.05


def worker_overrides(names: StreamNames) -> dict[str, str]:
    return {
        **ENGINE_OVERRIDES,
        "CAMPAIGN_SERVER_WORKERS": str(WORKERS),
        "CAMPAIGN_NATS_URL": shared_nats_url(),
        "CAMPAIGN_NATS_STREAM": f"{names.stream}_EVENTS",
        "CAMPAIGN_NATS_DELIVERY_STREAM": names.stream,
        "CAMPAIGN_NATS_INBOUND_STREAM": f"{names.stream}_IN",
        "CAMPAIGN_NATS_SUBJECT_PREFIX": names.prefix,
        "CAMPAIGN_REDIS_URL": f"redis://{REDIS_HOST}:{REDIS_PORT}",
    }


@pytest.fixture
def names() -> Iterator[StreamNames]:
    require(REDIS_HOST, REDIS_PORT, "Redis")
    names = StreamNames.fresh()
    yield names
    url = shared_nats_url()
    for stream in (names.stream, f"{names.stream}_EVENTS", f"{names.stream}_IN"):
        asyncio.run(delete_stream(url, stream))


def log_events(server: ServerProcess, event: str) -> list[dict[str, Any]]:
    found = []
    for line in server.log.splitlines():
        if line.startswith("{") and f'"{event}"' in line:
            record = json.loads(line)
            if record.get("event") == event:
                found.append(record)
    return found


def socket_inodes(pid: int) -> set[str]:
    inodes = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[len("socket:[") : -1])
    return inodes


def accepted_connections(port: int) -> list[str]:
    """Inodes of the established connections whose local port is `port` (the server's side)."""
    inodes = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table) as rows:
            next(rows)
            for row in rows:
                fields = row.split()
                local_port = int(fields[1].rsplit(":", 1)[1], 16)
                if local_port == port and fields[3] == "01":  # 01: ESTABLISHED
                    inodes.append(fields[9])
    return inodes


def assert_both_workers_take_connections(server: ServerProcess, pids: list[int]) -> None:
    """CONNECTIONS separate channels, each with a call answered; the kernel spreads them over
    the workers, and each worker holds some of them."""
    port = int(server.address.rsplit(":", 1)[1])
    # A local subchannel pool each: channels to one target otherwise share one connection.
    own = [("grpc.use_local_subchannel_pool", 1)]
    channels = [grpc.insecure_channel(server.address, options=own) for _ in range(CONNECTIONS)]
    try:
        for channel in channels:
            reply = health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(service=""), timeout=10
            )
            assert reply.status == health_pb2.HealthCheckResponse.SERVING
        established = set(accepted_connections(port))
        held = {pid: len(socket_inodes(pid) & established) for pid in pids}
        assert sum(held.values()) >= CONNECTIONS, held
        assert all(count > 0 for count in held.values()), held
    finally:
        for channel in channels:
            channel.close()


def run_one_scheduled_campaign(server: ServerProcess) -> None:
    """A campaign scheduled to RECIPIENTS contacts runs once: one execution, one message each."""
    token = mint_token(new_org())
    with grpc.insecure_channel(server.address) as channel:
        users = [f"w{i}" for i in range(RECIPIENTS)]
        AudienceApi(channel, token).upsert(
            *(contact(u, timezone="UTC", attributes={"country": "US"}) for u in users)
        )
        api = CampaignApi(channel, token)
        created = api.create(
            campaign_request("Workers", audiences=[in_country("US")], throttle=NO_QUIET_HOURS)
        )
        api.transition("ScheduleCampaign", created.campaign_id, scheduled_at=timestamp(soon()))

        def finished() -> pb.Campaign | None:
            campaign = api.get(created.campaign_id)
            return campaign if campaign.status == pb.CAMPAIGN_STATUS_COMPLETED else None

        eventually(finished, within=RUN_TIMEOUT, what="the campaign COMPLETED")
        executions = api.call(
            "ListExecutions", svc.ListExecutionsRequest(campaign_id=created.campaign_id)
        ).executions
        assert [e.status for e in executions] == [xpb.EXECUTION_STATUS_COMPLETED]
        messages = api.call(
            "ListMessages",
            svc.ListMessagesRequest(campaign_id=created.campaign_id, page_size=100),
        ).messages
        assert Counter(m.user_id for m in messages) == Counter(users)


def restarted_after_kill(server: ServerProcess, pid: int) -> int:
    """SIGKILL one worker: the supervisor logs its exit and starts another in its place; the
    new worker's pid."""
    os.kill(pid, signal.SIGKILL)

    def replaced() -> int | None:
        exits = [r for r in log_events(server, "worker exited; restarting it") if r["pid"] == pid]
        serving = [r["pid"] for r in log_events(server, "worker serving")]
        return serving[-1] if exits and len(serving) == WORKERS + 1 else None

    return eventually(replaced, within=RUN_TIMEOUT, what="the killed worker replaced")


async def pulling(names: StreamNames, subject: str) -> int:
    """The pull requests waiting on our consumer of `subject` (one per worker process that
    fetches from it); 0 until the consumer exists."""
    async with connection(shared_nats_url()) as nc:
        try:
            info = await nc.jetstream(timeout=5).consumer_info(
                f"{names.stream}_IN", durable_name(names.prefix + subject)
            )
        except NotFoundError:
            return 0
        return info.num_waiting or 0


async def consumer_settled(names: StreamNames, subject: str) -> bool:
    async with connection(shared_nats_url()) as nc:
        info = await nc.jetstream(timeout=5).consumer_info(
            f"{names.stream}_IN", durable_name(names.prefix + subject)
        )
        return (info.num_pending, info.num_ack_pending) == (0, 0)


async def publish_events(names: StreamNames, org: str, event_id: str, elsewhere: str) -> None:
    """`event_id` twice back to back (two stream messages: as a redelivery or a repeated
    publish looks), then SPREAD_EVENTS events of an organization with no campaign, spaced."""
    subject = f"{names.prefix}order.completed"
    async with connection(shared_nats_url()) as nc:
        js = nc.jetstream(timeout=5)
        for _ in range(2):
            await js.publish(subject, envelope(org, event_id))
        for i in range(SPREAD_EVENTS):
            await js.publish(subject, envelope(elsewhere, f"spread-{i}"))
            await asyncio.sleep(SPACING_S)


def inbound_events_once_over_both_workers(server: ServerProcess, names: StreamNames) -> None:
    """Both workers pull from the consumer of order.completed; the event published twice is
    one evaluation, one message, one delivery request. (Which worker took how many is logged
    at the stop: checked by the caller.)"""
    org, event_id = new_org(), "twice-1"
    token = mint_token(org)
    with grpc.insecure_channel(server.address) as channel:
        AudienceApi(channel, token).upsert(contact("u-1", attributes={"active": True}))
        api = CampaignApi(channel, token)
        campaign_id = api.create(
            triggered_request(channels=[email("Thanks for your order")], throttle=NO_QUIET_HOURS)
        ).campaign_id
        api.call("ActivateCampaign", svc.ActivateCampaignRequest(campaign_id=campaign_id))
        eventually(
            lambda: asyncio.run(pulling(names, "order.completed")) >= WORKERS,
            within=RUN_TIMEOUT,
            what="both workers pulling order.completed",
        )

        asyncio.run(publish_events(names, org, event_id, new_org()))
        eventually(
            lambda: asyncio.run(consumer_settled(names, "order.completed")),
            within=RUN_TIMEOUT,
            what="every event taken and acknowledged",
        )

        def sent() -> list[Any]:
            page = api.call("ListMessages", svc.ListMessagesRequest(campaign_id=campaign_id))
            return [m for m in page.messages if m.status == xpb.MESSAGE_STATUS_SENT]

        eventually(sent, within=RUN_TIMEOUT, what="the triggered message sent")
        messages = api.call("ListMessages", svc.ListMessagesRequest(campaign_id=campaign_id))
        evaluations = api.call(
            "ListTriggerEvaluations", svc.ListTriggerEvaluationsRequest(campaign_id=campaign_id)
        ).evaluations
    [message] = messages.messages
    assert [e.event_id for e in evaluations] == [event_id]
    url = shared_nats_url()
    assert asyncio.run(delivery_requests(url, names, "u-1")) == [message.message_id]


@pytest.mark.parametrize("kind", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_two_workers_share_the_port_run_one_scheduler_and_drain_on_sigterm(
    kind: str, tmp_path: Path, names: StreamNames
) -> None:
    with backend_env(kind, tmp_path / "data") as env:
        server = start_server({**env, **worker_overrides(names)})
        try:
            serving = log_events(server, "worker serving")
            pids = sorted(record["pid"] for record in serving)
            assert len(set(pids)) == WORKERS, server.log
            assert server.process.pid not in pids

            assert_both_workers_take_connections(server, pids)
            run_one_scheduled_campaign(server)
            background = log_events(server, "background workers started")
            assert [record["pid"] for record in background] == [
                next(r["pid"] for r in serving if r["worker"] == 0)
            ]
            assert "scheduler" in background[0]["workers"]

            pids.append(restarted_after_kill(server, pids[-1]))
            inbound_events_once_over_both_workers(server, names)
        finally:
            server.process.send_signal(signal.SIGTERM)
            code = server.wait(STOP_TIMEOUT)
    assert code == 0, server.log
    assert len(log_events(server, "stopped")) == WORKERS + 1, server.log  # each worker, then it
    for pid in pids:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
    # Each live worker took some of the events (the killed one logged nothing).
    taken = {r["pid"]: r["total"] for r in log_events(server, "inbound events taken")}
    assert len(taken) == WORKERS, taken
    assert all(total > 0 for total in taken.values()), taken
    assert sum(taken.values()) >= SPREAD_EVENTS + 2, taken


def test_a_port_a_stranger_listens_on_fails_the_start(tmp_path: Path, names: StreamNames) -> None:
    """The stranger sets SO_REUSEPORT, as another gRPC server does: workers binding with it
    would silently share its callers, so the supervisor checks without it first."""
    with socket.socket() as stranger:
        stranger.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        stranger.bind(("127.0.0.1", 0))
        stranger.listen()
        address = f"127.0.0.1:{stranger.getsockname()[1]}"
        with backend_env("sqlite", tmp_path / "data") as env:
            result = run_cli(
                {**env, **worker_overrides(names), "CAMPAIGN_GRPC_ADDRESS": address}, "serve"
            )
    assert result.returncode == 2, result
    assert re.fullmatch(
        rf"error: cannot listen on {re.escape(address)} \(CAMPAIGN_GRPC_ADDRESS\): "
        r"address already in use; .*\n",
        result.stderr,
    ), result.stderr
    assert "worker" not in result.stdout, result.stdout
