"""A rig for fault injection: real `campaign-service serve` processes on a fresh Postgres database
and a private nats-server, driven over gRPC the way a client would, checked in Postgres and on
JetStream.

Processes die by SIGKILL (`kill -9`), never by a polite SIGTERM: nothing of theirs gets to clean
up. The database and the broker outlive them, so a process started afterwards on the same
environment must carry on where the dead one stopped. The shared servers are never touched.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import os
import shutil
import subprocess
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import grpc
import nats
import pytest
from campaign.v1 import audience_pb2 as apb
from campaign.v1 import audience_service_pb2 as asvc
from campaign.v1 import audience_service_pb2_grpc as asvc_grpc
from campaign.v1 import campaign_pb2 as pb
from campaign.v1 import campaign_service_pb2 as svc
from campaign.v1 import campaign_service_pb2_grpc as svc_grpc
from campaign.v1 import execution_pb2 as xpb
from google.protobuf import struct_pb2, timestamp_pb2
from nats.errors import TimeoutError as NatsTimeoutError
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

from adapters.sql.engine import make_engine
from tests.integration.nats_support import PrivateNatsServer, free_port
from tests.support.compliance import FOOTER
from tests.support.metric_recount import mismatches
from tests.support.migrated import migrated_postgres_database
from tests.support.server_process import ServerProcess, server_env, start_server
from tests.support.services import is_listening

HOLDOUT_BP = 500  # 5 %, in basis points of the md5 bucket (docs/assignment-and-throttling.md)
HIGH_LIMIT = 3_600_000_000  # per hour: one slot per microsecond, so rate limits never bind
RPC_TIMEOUT = 30.0
KILL_WAIT = 10.0


# --- the directory and its oracle --------------------------------------------------------------


def user(n: int) -> str:
    return f"u{n:06d}"


def in_oslo(n: int) -> bool:
    return n % 10 != 0  # every 10th lives in Bergen, outside the audience


def email_opted_in(n: int) -> bool:
    return n % 7 != 0


def suppressed(n: int) -> bool:
    return n % 97 == 3  # unsubscribed, through AddSuppressions


def holdout_bucket(user_id: str, campaign_id: str) -> int:
    return int(hashlib.md5(f"{user_id}:{campaign_id}".encode()).hexdigest(), 16) % 10_000


def expected_recipients(size: int, campaign_id: str) -> set[str]:
    """Who must get exactly one email, from the spec's rules rather than the engine's code:
    in the audience (Oslo), not suppressed, email consent, and outside the 5 % holdout."""
    return {
        user(n)
        for n in range(size)
        if in_oslo(n)
        and email_opted_in(n)
        and not suppressed(n)
        and holdout_bucket(user(n), campaign_id) >= HOLDOUT_BP
    }


def expected_counts(size: int, campaign_id: str) -> tuple[int, int]:
    """(audience_size, holdout_size) an execution must report: Oslo minus the suppressed, and
    the part of it inside the holdout (consent is checked after the holdout)."""
    audience = [user(n) for n in range(size) if in_oslo(n) and not suppressed(n)]
    held_out = [u for u in audience if holdout_bucket(u, campaign_id) < HOLDOUT_BP]
    return len(audience), len(held_out)


def _contact(n: int) -> apb.Contact:
    attributes = struct_pb2.Struct()
    attributes.update({"city": "Oslo" if in_oslo(n) else "Bergen", "first_name": f"N{n}"})
    return apb.Contact(
        user_id=user(n),
        email=f"{user(n)}@example.test",
        timezone="UTC",
        email_opted_in=email_opted_in(n),
        attributes=attributes,
    )


def _email(subject: str) -> pb.ChannelContent:
    return pb.ChannelContent(
        channel=pb.CHANNEL_EMAIL,
        email=pb.EmailContent(subject=subject, html_body="<p>Spring sale</p>" + FOOTER),
    )


def campaign_request(name: str, *, per_minute: int | None = None) -> svc.CreateCampaignRequest:
    """Two email arms of 50 %, a 5 % holdout, Oslo only; quiet hours off so the time of day the
    suite runs at does not matter; `per_minute` spreads the sends over time."""
    oslo = pb.Condition(
        field="city",
        operator=pb.CONDITION_OPERATOR_EQUALS,
        value=struct_pb2.Value(string_value="Oslo"),
    )
    throttle = pb.Throttle(quiet_hours=pb.QuietHours(enabled=False))
    if per_minute is not None:
        throttle.per_minute = per_minute
    return svc.CreateCampaignRequest(
        name=name,
        campaign_type=pb.CAMPAIGN_TYPE_SCHEDULED,
        audiences=[
            pb.Audience(
                segment_type=pb.SEGMENT_TYPE_INCLUDE, query=pb.SegmentQuery(conditions=[oslo])
            )
        ],
        variants=[
            pb.Variant(
                name="A", allocation_percentage=50, channels=[_email("Hi {{ first_name }}")]
            ),
            pb.Variant(
                name="B", allocation_percentage=50, channels=[_email("Hey {{ first_name }}")]
            ),
        ],
        holdout_percentage=HOLDOUT_BP / 100,
        throttle=throttle,
    )


# --- what Postgres and JetStream hold ----------------------------------------------------------


@dataclass(frozen=True)
class Progress:
    """One look at the database: where the execution is and what its messages are doing."""

    executions: int
    status: str  # of the newest execution, "" before the scheduler fired
    fanned_out: bool
    cursor: str
    by_status: dict[str, int]

    @property
    def written(self) -> int:
        return sum(self.by_status.values())

    @property
    def queued(self) -> int:
        """Written and not handed over yet: queued, or deferred to a throttle slot."""
        return self.by_status.get("queued", 0) + self.by_status.get("deferred", 0)

    def __str__(self) -> str:
        if not self.executions:
            return "not fired yet"
        phase = "delivering" if self.fanned_out else f"fanning out, cursor={self.cursor or '-'}"
        return f"{self.status} ({phase}) messages={dict(sorted(self.by_status.items()))}"


@dataclass(frozen=True)
class Delivery:
    """One message as a JetStream consumer of the delivery stream saw it."""

    msg_id: str | None  # the Nats-Msg-Id header
    subject: str
    payload: dict[str, Any]


@dataclass(frozen=True)
class Change:
    """A lease taken (by `owner`, from `previous_owner` if it never released it) or a batch
    committed (by `owner`, moving the cursor to `at_cursor`)."""

    kind: str  # "lease" or "batch"
    owner: str | None
    previous_owner: str | None
    at_cursor: str
    fanned_out: bool


HISTORY_DDL = """
CREATE TABLE fault_history (
    seq bigserial PRIMARY KEY,
    execution_id text NOT NULL,
    kind text NOT NULL,
    owner text,
    previous_owner text,
    at_cursor text NOT NULL,
    fanned_out boolean NOT NULL
);
CREATE FUNCTION fault_history_record() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.lease_owner IS NOT NULL AND NEW.lease_owner IS DISTINCT FROM OLD.lease_owner THEN
        INSERT INTO fault_history (execution_id, kind, owner, previous_owner, at_cursor, fanned_out)
        VALUES (NEW.execution_id, 'lease', NEW.lease_owner, OLD.lease_owner, NEW.cursor,
                NEW.fanned_out);
    END IF;
    IF NEW.cursor IS DISTINCT FROM OLD.cursor THEN
        INSERT INTO fault_history (execution_id, kind, owner, previous_owner, at_cursor, fanned_out)
        VALUES (NEW.execution_id, 'batch', NEW.lease_owner, NULL, NEW.cursor, NEW.fanned_out);
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER fault_history_record AFTER UPDATE ON executions
    FOR EACH ROW EXECUTE FUNCTION fault_history_record();
"""


async def install_history(dsn: str) -> None:
    """Test instrumentation only: a trigger that records, in the same transaction, every lease
    and every cursor move, so a test can tell who committed which batch (a rolled-back batch
    leaves no trace, exactly like its messages)."""
    connection = await asyncpg.connect(dsn)
    try:
        await connection.execute(HISTORY_DDL)
    finally:
        await connection.close()


def assert_each_batch_committed_once(history: list[Change], audience_size: int, batch: int) -> None:
    """The cursor only ever moved forward, once per batch: no batch was committed twice."""
    cursors = [c.at_cursor for c in history if c.kind == "batch"]
    assert cursors == sorted(set(cursors)), "a batch was committed twice (the cursor went back)"
    assert len(cursors) == -(-audience_size // batch)


# --- the rig -----------------------------------------------------------------------------------


@dataclass
class Rig:
    workdir: Path
    database_url: str
    nats: PrivateNatsServer
    stream: str
    prefix: str
    env: dict[str, str]
    org: str  # of this test alone
    servers: list[ServerProcess] = field(default_factory=list)
    campaigns: list[str] = field(default_factory=list)
    _token: str = ""

    @property
    def dsn(self) -> str:
        return self.database_url.replace("postgresql+asyncpg://", "postgresql://", 1)

    # processes

    async def start_server(self) -> ServerProcess:
        server = await asyncio.to_thread(start_server, self.env)
        self.servers.append(server)
        return server

    async def kill(self, server: ServerProcess) -> None:
        """kill -9, and wait until the process is gone."""
        server.process.kill()
        await asyncio.to_thread(server.wait, KILL_WAIT)

    def kill_all(self) -> None:
        for server in self.servers:
            if server.process.poll() is None:
                server.process.kill()
            with contextlib.suppress(Exception):
                server.wait(KILL_WAIT)

    async def token(self, server: ServerProcess) -> str:
        if not self._token:
            self._token = await asyncio.to_thread(server.token, self.org, "admin")
        return self._token

    def failed_steps(self) -> Counter[str]:
        """Worker steps that failed, by worker and error, over every process this rig started."""
        found: Counter[str] = Counter()
        for server in self.servers:
            for line in server.log.splitlines():
                if "worker step failed" not in line:
                    continue
                try:
                    entry = json.loads(line)
                except ValueError:
                    continue
                found[f"{entry.get('worker')}: {str(entry.get('error'))[:100]}"] += 1
        return found

    # the API, as a client uses it

    async def call(self, server: ServerProcess, function: Callable[..., Any], *args: Any) -> Any:
        metadata = (("authorization", f"Bearer {await self.token(server)}"),)

        def run() -> Any:
            with grpc.insecure_channel(server.address) as channel:
                return function(channel, metadata, *args)

        return await asyncio.to_thread(run)

    async def seed(self, server: ServerProcess, size: int) -> None:
        """`size` contacts through the client stream of UpsertContacts, then the suppressions."""

        def run(channel: grpc.Channel, metadata: Any) -> None:
            stub = asvc_grpc.AudienceServiceStub(channel)
            stream = (asvc.UpsertContactsRequest(contact=_contact(n)) for n in range(size))
            reply = stub.UpsertContacts(stream, metadata=metadata, timeout=120)
            assert reply.upserted_count == size, reply.rejected[:3]
            entries = [
                apb.SuppressionEntry(user_id=user(n), reason=apb.SUPPRESSION_REASON_UNSUBSCRIBED)
                for n in range(size)
                if suppressed(n)
            ]
            added = stub.AddSuppressions(
                asvc.AddSuppressionsRequest(entries=entries), metadata=metadata, timeout=RPC_TIMEOUT
            )
            assert added.added_count == len(entries)

        await self.call(server, run)

    async def launch(
        self, server: ServerProcess, *, lead: float = 2.0, per_minute: int | None = None
    ) -> str:
        """Create the campaign and schedule it `lead` seconds ahead; returns its id."""

        def run(channel: grpc.Channel, metadata: Any) -> str:
            stub = svc_grpc.CampaignServiceStub(channel)
            request = campaign_request(f"faults {uuid.uuid4().hex[:8]}", per_minute=per_minute)
            created = stub.CreateCampaign(request, metadata=metadata, timeout=RPC_TIMEOUT)
            campaign_id = created.campaign.campaign_id
            at = timestamp_pb2.Timestamp()
            # Whole seconds, rounded up: `lead` + 1 s at least when sent. Rounded down, a 1 s
            # lead left the servers' 1 s minimum (CAMPAIGN_SCHEDULE_MIN_LEAD_SECONDS) as little as
            # a millisecond of slack, and on a busy machine ScheduleCampaign failed
            # (INVALID_ARGUMENT: must be at least 1 seconds in the future).
            at.FromDatetime(
                (datetime.now(UTC) + timedelta(seconds=lead + 1)).replace(microsecond=0)
                + timedelta(seconds=1)
            )
            stub.ScheduleCampaign(
                svc.ScheduleCampaignRequest(campaign_id=campaign_id, scheduled_at=at),
                metadata=metadata,
                timeout=RPC_TIMEOUT,
            )
            return campaign_id

        campaign_id: str = await self.call(server, run)
        self.campaigns.append(campaign_id)
        return campaign_id

    async def executions(self, server: ServerProcess, campaign_id: str) -> list[xpb.Execution]:
        def run(channel: grpc.Channel, metadata: Any) -> list[xpb.Execution]:
            stub = svc_grpc.CampaignServiceStub(channel)
            reply = stub.ListExecutions(
                svc.ListExecutionsRequest(campaign_id=campaign_id, page_size=100),
                metadata=metadata,
                timeout=RPC_TIMEOUT,
            )
            return list(reply.executions)

        return await self.call(server, run)

    async def wait_completed(
        self, server: ServerProcess, campaign_id: str, *, within: float
    ) -> xpb.Execution:
        """The execution, once ListExecutions reports it COMPLETED; fails after `within` s."""

        async def completed() -> xpb.Execution | None:
            found = await self.executions(server, campaign_id)
            done = [e for e in found if e.status == xpb.EXECUTION_STATUS_COMPLETED]
            return done[0] if done else None

        return await eventually(
            completed, within=within, what="a COMPLETED execution", server=server
        )

    # Postgres, read directly

    @contextlib.asynccontextmanager
    async def database(self) -> AsyncIterator[asyncpg.Connection]:
        connection = await asyncio.wait_for(asyncpg.connect(self.dsn), 10)
        try:
            yield connection
        finally:
            await connection.close()

    async def progress(self, campaign_id: str) -> Progress:
        async with self.database() as db:
            executions = await db.fetch(
                "SELECT status, fanned_out, cursor FROM executions WHERE campaign_id = $1"
                " ORDER BY created_at DESC",
                campaign_id,
            )
            rows = await db.fetch(
                # As clients see it: a claimed row is queued until its batch is handed over, a
                # held one (no throttle slot yet) is deferred.
                "SELECT CASE WHEN m.status = 'held' THEN 'deferred'"
                " WHEN m.status <> 'dispatching' THEN m.status"
                " WHEN h.status <> 'claimed' THEN h.status ELSE 'queued' END AS status,"
                " count(*) AS n"
                " FROM messages m LEFT JOIN handovers h ON h.handover_id = m.handover_id"
                " WHERE m.campaign_id = $1 GROUP BY 1",
                campaign_id,
            )
        newest = executions[0] if executions else None
        return Progress(
            executions=len(executions),
            status=newest["status"] if newest else "",
            fanned_out=bool(newest and newest["fanned_out"]),
            cursor=newest["cursor"] if newest else "",
            by_status={r["status"]: r["n"] for r in rows},
        )

    async def messages_per_user(self, campaign_id: str) -> Counter[str]:
        async with self.database() as db:
            rows = await db.fetch(
                "SELECT user_id, count(*) AS n FROM messages WHERE campaign_id = $1"
                " GROUP BY user_id",
                campaign_id,
            )
        return Counter({r["user_id"]: r["n"] for r in rows})

    async def message_ids(self, campaign_id: str) -> set[str]:
        async with self.database() as db:
            rows = await db.fetch(
                "SELECT message_id FROM messages WHERE campaign_id = $1", campaign_id
            )
        return {r["message_id"] for r in rows}

    async def history(self, campaign_id: str) -> list[Change]:
        """Every lease taken and every batch committed on the campaign's executions, in order
        (recorded by the trigger `install_history` puts on the executions table)."""
        async with self.database() as db:
            rows = await db.fetch(
                "SELECT h.kind, h.owner, h.previous_owner, h.at_cursor, h.fanned_out"
                " FROM fault_history h JOIN executions e USING (execution_id)"
                " WHERE e.campaign_id = $1 ORDER BY h.seq",
                campaign_id,
            )
        return [Change(**dict(r)) for r in rows]

    # JetStream, read by a consumer of our own

    async def deliveries(self, expected: int, *, within: float = 60.0) -> list[Delivery]:
        """Every message of the delivery stream, read from its start by a fresh consumer: waits
        for `expected` of them, then keeps reading until nothing more comes (duplicates would)."""
        nc = await asyncio.wait_for(
            nats.connect(self.nats.url, connect_timeout=2, allow_reconnect=False), 10
        )
        try:
            js = nc.jetstream(timeout=10)
            subscription = await js.pull_subscribe(
                f"{self.prefix}notification.send.>",
                stream=self.stream,
                config=ConsumerConfig(ack_policy=AckPolicy.NONE, deliver_policy=DeliverPolicy.ALL),
            )
            seen: list[Delivery] = []
            deadline = time.monotonic() + within
            quiet_since: float | None = None
            while True:
                try:
                    batch = await subscription.fetch(1000, timeout=0.5)
                except (TimeoutError, NatsTimeoutError):
                    batch = []
                for message in batch:
                    headers = message.headers or {}
                    seen.append(
                        Delivery(
                            headers.get("Nats-Msg-Id"), message.subject, json.loads(message.data)
                        )
                    )
                now = time.monotonic()
                if batch:
                    quiet_since = None
                elif len(seen) >= expected:
                    quiet_since = quiet_since or now
                    if now - quiet_since >= 1.0:
                        return seen
                if now > deadline:
                    pytest.fail(f"the delivery stream gave {len(seen)} of {expected} in {within} s")
        finally:
            with contextlib.suppress(Exception):
                await nc.close()

    async def stream_size(self) -> int:
        nc = await asyncio.wait_for(
            nats.connect(self.nats.url, connect_timeout=2, allow_reconnect=False), 10
        )
        try:
            return (await nc.jetstream(timeout=10).stream_info(self.stream)).state.messages
        finally:
            with contextlib.suppress(Exception):
                await nc.close()


async def eventually(
    probe: Callable[[], Awaitable[Any]],
    *,
    within: float,
    what: str,
    interval: float = 0.2,
    server: ServerProcess | None = None,
) -> Any:
    """The first truthy result of `probe`; fails after `within` seconds (or if `server` died)."""
    deadline = time.monotonic() + within
    while True:
        if server is not None and server.process.poll() is not None:
            pytest.fail(
                f"the server exited with {server.process.returncode}:\n{server.log[-4000:]}"
            )
        found = await probe()
        if found:
            return found
        if time.monotonic() > deadline:
            pytest.fail(f"no {what} within {within} s")
        await asyncio.sleep(interval)


def assert_exactly_once(
    per_user: Counter[str], expected: set[str], ids_in_db: set[str], seen: list[Delivery]
) -> None:
    """One row per eligible recipient, and each of their ids exactly once on the stream."""
    twice = {u: n for u, n in per_user.items() if n > 1}
    assert twice == {}, f"recipients with more than one message: {dict(list(twice.items())[:5])}"
    assert set(per_user) == expected, (
        f"missing {sorted(expected - set(per_user))[:5]}, "
        f"unexpected {sorted(set(per_user) - expected)[:5]}"
    )
    assert len(ids_in_db) == len(expected)
    assert all(d.msg_id for d in seen), "a delivery without Nats-Msg-Id"
    on_stream = Counter(d.msg_id or "" for d in seen)
    repeated = {i: n for i, n in on_stream.items() if n > 1}
    assert repeated == {}, f"message ids the consumer saw more than once: {repeated}"
    assert set(on_stream) == ids_in_db, (
        f"not on the stream {sorted(ids_in_db - set(on_stream))[:5]}, "
        f"not in the database {sorted(set(on_stream) - ids_in_db)[:5]}"
    )
    assert all(d.msg_id == d.payload["message_id"] for d in seen)
    assert {d.payload["user_id"] for d in seen} == expected


# --- fixtures ----------------------------------------------------------------------------------


def rig_env(
    workdir: Path, database_url: str, nats_url: str, stream: str, prefix: str, **overrides: str
) -> dict[str, str]:
    settings = {
        "CAMPAIGN_DATABASE_URL": database_url,
        "CAMPAIGN_NATS_URL": nats_url,
        "CAMPAIGN_NATS_STREAM": f"{stream}_EVENTS",
        "CAMPAIGN_NATS_DELIVERY_STREAM": stream,
        "CAMPAIGN_NATS_SUBJECT_PREFIX": prefix,
        "CAMPAIGN_SCHEDULE_MIN_LEAD_SECONDS": "1",
        "CAMPAIGN_ORGANIZATION_PER_HOUR": str(HIGH_LIMIT),
        "CAMPAIGN_CHANNEL_PER_HOUR": json.dumps({"email": HIGH_LIMIT}),
        "CAMPAIGN_EXECUTOR_BATCH_SIZE": "500",
        "CAMPAIGN_EXECUTOR_LEASE_SECONDS": "1",
        "CAMPAIGN_WORKER_INTERVAL": "0.05",
        "CAMPAIGN_LOG_LEVEL": "WARNING",
        **overrides,
    }
    return server_env(workdir / "data", **settings)


@pytest.fixture
def env_overrides() -> dict[str, str]:
    """Extra CAMPAIGN_* settings for the rig's processes; a test overrides this fixture."""
    return {}


@pytest.fixture
async def rig(tmp_path: Path, env_overrides: dict[str, str]) -> AsyncIterator[Rig]:
    """A fresh, migrated Postgres database, a private nats-server with a stream name and subject
    prefix of this test's own, and no server process yet; every process is killed afterwards."""
    token = uuid.uuid4().hex[:10]
    stream, prefix = f"FAULTS_{token.upper()}", f"faults.{token}."
    org = f"org-faults-{token}"
    nats_server = PrivateNatsServer(tmp_path)
    async with migrated_postgres_database() as database_url:  # as `migrate` leaves it
        await nats_server.start()
        built = Rig(
            workdir=tmp_path,
            database_url=database_url,
            nats=nats_server,
            stream=stream,
            prefix=prefix,
            env=rig_env(tmp_path, database_url, nats_server.url, stream, prefix, **env_overrides),
            org=org,
        )
        try:
            await install_history(built.dsn)
            yield built
        finally:
            built.kill_all()
            nats_server.kill_now()


class PrivateRedisServer:
    """A redis-server without persistence that only this test uses (the shared one may be
    stalled or restarted by other tests; this one is ours)."""

    def __init__(self, workdir: Path) -> None:
        binary = shutil.which("redis-server") or "/usr/bin/redis-server"
        if not Path(binary).exists():
            if os.environ.get("CI"):
                pytest.fail("redis-server is not installed; CI must provide it", pytrace=False)
            pytest.skip("redis-server is not installed")
        self.binary, self.workdir, self.port = binary, workdir, free_port()
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    async def start(self, *, ready_within: float = 10.0) -> None:
        self._process = subprocess.Popen(  # noqa: ASYNC220 - returns at once
            [
                self.binary,
                *("--port", str(self.port), "--bind", "127.0.0.1", "--save", ""),
                *("--appendonly", "no", "--dir", str(self.workdir)),
                *("--logfile", str(self.workdir / "redis.log")),
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + ready_within
        while not is_listening("127.0.0.1", self.port, timeout=0.2):
            if self._process.poll() is not None or time.monotonic() > deadline:
                self.kill_now()
                pytest.fail(f"private redis-server did not start; see {self.workdir}/redis.log")
            await asyncio.sleep(0.05)

    def kill_now(self) -> None:
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.kill()
            process.wait(timeout=10)


@pytest.fixture
async def private_redis(tmp_path: Path) -> AsyncIterator[str]:
    """The URL of a redis-server of this test's own, killed afterwards."""
    server = PrivateRedisServer(tmp_path)
    try:
        await server.start()
        yield server.url
    finally:
        server.kill_now()


@pytest.fixture
def report() -> Iterator[list[str]]:
    """Lines a test wants shown after it (observed kills, resumed batches); printed at teardown."""
    lines: list[str] = []
    yield lines
    if lines:
        print("\n" + "\n".join(lines))  # shown with -s or -rP


async def assert_ran_exactly_once(
    rig: Rig, server: ServerProcess, campaign_id: str, size: int, *, within: float = 90.0
) -> xpb.Execution:
    """The end state every fault must still reach: one COMPLETED execution with exact counts,
    one `sent` message per eligible recipient in Postgres, each id once on JetStream."""
    execution = await rig.wait_completed(server, campaign_id, within=within)
    expected = expected_recipients(size, campaign_id)
    assert len(await rig.executions(server, campaign_id)) == 1, "one firing, one execution"
    assert (execution.audience_size, execution.holdout_size) == expected_counts(size, campaign_id)
    counts = execution.counts
    assert sum(getattr(counts, f.name) for f in counts.DESCRIPTOR.fields) == len(expected)

    final = await rig.progress(campaign_id)
    assert final.by_status == {"sent": len(expected)}, final
    ids = await rig.message_ids(campaign_id)
    seen = await rig.deliveries(len(expected))
    assert_exactly_once(await rig.messages_per_user(campaign_id), expected, ids, seen)
    assert await rig.stream_size() == len(expected), "JetStream kept a duplicate"
    # The metric counters survived the fault exactly too (docs/metrics.md).
    engine = make_engine(rig.database_url)
    try:
        assert await mismatches(engine, rig.org) == []
    finally:
        await engine.dispose()
    return execution
