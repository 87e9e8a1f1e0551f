"""Shared parts of the execution scenarios (`execute-1m`, `execute-100k-embedded`).

The population: N contacts `u0000000`.. with a first name, last name and discount code, email
consent, time zone UTC, locale en-US; every 100th (i % 100 == 7) is on the suppression list for
every channel. The campaign: scheduled, one inline audience (locale equals en-US: everybody),
two 50/50 variants with personalized email, a 5 % holdout, quiet hours off. So the expected
message count is exact and independent of the engine: the contacts not suppressed whose bucket,
int(md5(f"{user_id}:{campaign_id}").hexdigest(), 16) % 10000, is not below 500
(docs/assignment-and-throttling.md).

Time is measured from the execution's `started_at` to the last message's `sent_at`, both stamped
by the server itself (the same machine clock), so the benchmark's own polling never adds to it.
"""

from __future__ import annotations

import contextlib
import gc
import hashlib
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

import grpc
import orjson
from campaign.v1 import campaign_pb2, campaign_service_pb2, campaign_service_pb2_grpc
from google.protobuf import struct_pb2, timestamp_pb2

from adapters.sql.audience.tables import contact_attribute_names, contacts, suppressions
from bench.processes import production_env, server_peak_rss_mb
from domain.audience.contacts import (
    DEFAULT_TIMEZONE,
    UNSUBSCRIBE_URL,
    UNSUBSCRIBE_URL_PLACEHOLDER,
)
from domain.execution.model import message_id
from domain.kernel.channels import Channel
from tests.support.compliance import FOOTER
from tests.support.server_process import ServerProcess, start_server

SUPPRESS_EVERY, SUPPRESS_AT = 100, 7
HOLDOUT_PERCENT = 5.0
HOLDOUT_BP = 500
BASIS_POINTS = 10_000
LOCALE = "en-US"
SUBJECT = {"A": "Hi {{ first_name }}", "B": "Hi {{ first_name }}, 20% off for you"}
# With the unsubscribe link and postal address a marketing email needs to launch (CAN-SPAM).
HTML = {
    "A": "<p>Hello {{ first_name }} {{ last_name }},</p><p>your code is {{ code }}.</p>" + FOOTER,
    "B": "<p>Dear {{ first_name }} {{ last_name }}, use {{ code }} before Sunday.</p>" + FOOTER,
}
# Limits so high that throttling never delays a send: this measures the pipeline, not the limiter.
HUGE_PER_HOUR = 1_000_000_000_000
SCHEDULE_LEAD_S = 1.5
# Between two GetCampaign calls of the RpcProbe: a client polling a run's campaign.
PROBE_PAUSE_S = 0.02
POLL_S = 0.25
PASSTHROUGH_PREFIX = "BENCH_CAMPAIGN_"  # BENCH_CAMPAIGN_X=v becomes CAMPAIGN_X=v for the server


def recipients_from_env(default: int) -> int:
    raw = os.environ.get("BENCH_RECIPIENTS", "").strip()
    if not raw:
        return default
    value = int(float(raw))
    if not 100 <= value <= 5_000_000:
        raise ValueError("BENCH_RECIPIENTS must be in [100, 5000000]")
    return value


def server_overrides() -> dict[str, str]:
    """Engine settings for the run: huge limits, a short schedule lead, plus BENCH_CAMPAIGN_*."""
    out = {
        "CAMPAIGN_LOG_LEVEL": "WARNING",
        "CAMPAIGN_ORGANIZATION_PER_HOUR": str(HUGE_PER_HOUR),
        "CAMPAIGN_CHANNEL_PER_HOUR": orjson.dumps({"email": HUGE_PER_HOUR}).decode(),
        "CAMPAIGN_SCHEDULE_MIN_LEAD_SECONDS": "1",
    }
    for name, value in os.environ.items():
        if name.startswith(PASSTHROUGH_PREFIX):
            out["CAMPAIGN_" + name[len(PASSTHROUGH_PREFIX) :]] = value
    return out


def logger(scenario: str) -> Callable[[str], None]:
    def log(text: str) -> None:
        print(f"[{scenario}] {text}", file=sys.stderr, flush=True)

    return log


def bench_server_env(data_dir: Path, **settings: str) -> dict[str, str]:
    """The server environment of a run: `settings` and server_overrides()."""
    return production_env(data_dir, **settings, **server_overrides())


# --- the population ---------------------------------------------------------------------------


def user_id(i: int) -> str:
    return f"u{i:07d}"


def is_suppressed(i: int) -> bool:
    return i % SUPPRESS_EVERY == SUPPRESS_AT


def profile(i: int) -> dict[str, str]:
    return {"first_name": f"Ana{i}", "last_name": f"Berg{i % 997}", "code": f"SPRING{i % 9973:04d}"}


def contact_row(org: str, i: int, now: datetime) -> tuple[Any, ...]:
    """One row of the contacts table, in CONTACT_COLUMNS order (attributes as JSON text)."""
    uid = user_id(i)
    attributes = orjson.dumps(profile(i)).decode()
    email = f"{uid}@example.test"
    return (
        org,
        uid,
        email,
        "",
        False,
        "UTC",
        LOCALE,
        True,
        False,
        False,
        False,
        attributes,
        now,
        now,
    )


# The tables' own column order, which contact_row and suppression_rows follow.
CONTACT_COLUMNS = tuple(contacts.columns.keys())
SUPPRESSION_COLUMNS = tuple(suppressions.columns.keys())
ATTRIBUTE_NAME_COLUMNS = tuple(contact_attribute_names.columns.keys())


def attribute_name_rows(org: str) -> list[tuple[str, str]]:
    """contact_attribute_names rows for the population, as the directory's upsert keeps them:
    the launch checks the content's variables against them (BR-CAM-008.2)."""
    return [(org, name) for name in sorted(profile(0))]


def suppression_rows(org: str, n: int, now: datetime) -> list[tuple[Any, ...]]:
    return [
        (org, "user", user_id(i), "*", "unsubscribed", now) for i in range(n) if is_suppressed(i)
    ]


def bucket(uid: str, campaign_id: str) -> int:
    digest = hashlib.md5(f"{uid}:{campaign_id}".encode(), usedforsecurity=False).hexdigest()
    return int(digest, 16) % BASIS_POINTS


@dataclass(frozen=True)
class Expected:
    """Who must get a message: (index, variant name "A"/"B") per recipient, in user_id order."""

    audience: int
    messages: list[tuple[int, str]]


def expected(n: int, campaign_id: str) -> Expected:
    split = HOLDOUT_BP + (BASIS_POINTS - HOLDOUT_BP) * 5_000 // BASIS_POINTS  # A below, B above
    out = []
    audience = 0
    for i in range(n):
        if is_suppressed(i):
            continue
        audience += 1
        b = bucket(user_id(i), campaign_id)
        if b >= HOLDOUT_BP:
            out.append((i, "A" if b < split else "B"))
    return Expected(audience, out)


# --- the campaign, through the real API -------------------------------------------------------


def _email(variant: str) -> campaign_pb2.ChannelContent:
    return campaign_pb2.ChannelContent(
        channel=campaign_pb2.CHANNEL_EMAIL,
        email=campaign_pb2.EmailContent(subject=SUBJECT[variant], html_body=HTML[variant]),
    )


def campaign_request(name: str) -> campaign_service_pb2.CreateCampaignRequest:
    condition = campaign_pb2.Condition(
        field="locale",
        operator=campaign_pb2.CONDITION_OPERATOR_EQUALS,
        value=struct_pb2.Value(string_value=LOCALE),
    )
    return campaign_service_pb2.CreateCampaignRequest(
        name=name,
        description="execution benchmark",
        campaign_type=campaign_pb2.CAMPAIGN_TYPE_SCHEDULED,
        audiences=[
            campaign_pb2.Audience(
                segment_type=campaign_pb2.SEGMENT_TYPE_INCLUDE,
                query=campaign_pb2.SegmentQuery(conditions=[condition]),
            )
        ],
        variants=[
            campaign_pb2.Variant(name=v, allocation_percentage=50, channels=[_email(v)])
            for v in ("A", "B")
        ],
        holdout_percentage=HOLDOUT_PERCENT,
        throttle=campaign_pb2.Throttle(quiet_hours=campaign_pb2.QuietHours(enabled=False)),
        tags=["bench"],
    )


@dataclass(frozen=True)
class Launched:
    campaign_id: str
    variant_ids: dict[str, str]  # "A"/"B" -> the id the service assigned
    scheduled_at: datetime


def launch(address: str, token: str, name: str) -> Launched:
    """Create the campaign and schedule it SCHEDULE_LEAD_S from now."""
    metadata = [("authorization", f"Bearer {token}")]
    with grpc.insecure_channel(address) as channel:
        stub = campaign_service_pb2_grpc.CampaignServiceStub(channel)
        campaign = stub.CreateCampaign(
            campaign_request(name), metadata=metadata, timeout=30
        ).campaign
        at = datetime.now(UTC) + timedelta(seconds=SCHEDULE_LEAD_S)
        stamp = timestamp_pb2.Timestamp()
        stamp.FromDatetime(at)
        stub.ScheduleCampaign(
            campaign_service_pb2.ScheduleCampaignRequest(
                campaign_id=campaign.campaign_id, scheduled_at=stamp
            ),
            metadata=metadata,
            timeout=30,
        )
    return Launched(
        campaign.campaign_id, {v.name: v.variant_id for v in campaign.variants}, scheduled_at=at
    )


# --- baseline rows: the messages the engine must produce, built without the engine -----------


def render(template: str, values: dict[str, str]) -> str:
    out = template
    for key, value in values.items():
        out = out.replace("{{ " + key + " }}", value)
    return out


@dataclass(frozen=True)
class BaselineMessage:
    message_id: str
    user_id: str
    variant_id: str
    recipient: str
    content: dict[str, str]
    digest: str


def baseline_messages(
    expect: Expected, launched: Launched, execution_id: str
) -> Iterator[BaselineMessage]:
    for i, variant in expect.messages:
        uid = user_id(i)
        values = profile(i)
        content = {
            "subject": render(SUBJECT[variant], values),
            "html_body": render(
                HTML[variant], {**values, UNSUBSCRIBE_URL: UNSUBSCRIBE_URL_PLACEHOLDER}
            ),
        }
        digest = hashlib.sha256(repr(sorted(content.items())).encode()).hexdigest()[:16]
        yield BaselineMessage(
            message_id(execution_id, uid, Channel.EMAIL),
            uid,
            launched.variant_ids[variant],
            f"{uid}@example.test",
            content,
            digest,
        )


def message_record(
    m: BaselineMessage, org: str, campaign_id: str, execution_id: str, *, content: str, now: object
) -> tuple[Any, ...]:
    """The message row the engine writes for `m`, queued, in adapters.sql.messages.COLUMNS
    order (content as JSON text; `now` as the database takes an instant)."""
    return (
        m.message_id,
        org,
        campaign_id,
        execution_id,
        m.user_id,
        m.variant_id,
        "email",
        m.recipient,
        content,
        m.digest,
        "queued",
        now,
        now,
        None,  # failed_at
        "",  # error
        None,  # idempotency_key
        None,  # handover_id
        DEFAULT_TIMEZONE,  # the contacts' time zone, as the engine records it
        "",  # segment_id: the audience is a query, not a saved segment
    )


def delivery_payload(
    m: BaselineMessage, org: str, campaign_id: str, execution_id: str, send_after: datetime
) -> bytes:
    """The body adapters.nats.delivery publishes for a message (same keys, same encoder)."""
    return orjson.dumps(
        {
            "message_id": m.message_id,
            "organization_id": org,
            "campaign_id": campaign_id,
            "execution_id": execution_id,
            "user_id": m.user_id,
            "variant_id": m.variant_id,
            "channel": "email",
            "recipient": m.recipient,
            "content": m.content,
            "send_after": send_after.isoformat(),
        }
    )


# --- waiting and reporting --------------------------------------------------------------------


@dataclass
class Outcome:
    execution_id: str
    status: str
    started_at: datetime
    last_sent_at: datetime
    last_queued_at: datetime
    messages: int
    handed_over: int
    counts: dict[str, Any]

    @property
    def seconds(self) -> float:
        return (self.last_sent_at - self.started_at).total_seconds()

    @property
    def fan_out_seconds(self) -> float:
        return (self.last_queued_at - self.started_at).total_seconds()


def wait_until(
    check: Callable[[], Any], timeout_s: float, what: str, alive: Callable[[], bool]
) -> Any:
    """Poll `check` every POLL_S until it returns something truthy; bounded by `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = check()
        if value:
            return value
        if not alive():
            raise RuntimeError(f"the server exited while waiting for {what}")
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} did not happen within {timeout_s:.0f} s")
        time.sleep(POLL_S)


@dataclass
class CampaignRun:
    server: ServerProcess
    launched: Launched
    expect: Expected
    execution: Any  # what `completed` returned
    idle_rss_mb: float | None
    peak_rss_mb: float | None
    rpc_during_run_ms: list[float] = field(default_factory=list)


class RpcProbe:
    """GetCampaign calls one after another (every PROBE_PAUSE_S) from the scheduled start to the
    end of the run: how long a client waits for the server while it runs a big campaign (the run
    and the API share the server's event loop)."""

    def __init__(self, address: str, token: str, campaign_id: str, start_at: datetime) -> None:
        self._stop = threading.Event()
        self.latencies_ms: list[float] = []
        self._thread = threading.Thread(
            target=self._probe, args=(address, token, campaign_id, start_at), daemon=True
        )
        self._thread.start()

    def stop(self) -> list[float]:
        self._stop.set()
        self._thread.join(30)
        return self.latencies_ms

    def _probe(self, address: str, token: str, campaign_id: str, start_at: datetime) -> None:
        metadata = [("authorization", f"Bearer {token}")]
        request = campaign_service_pb2.GetCampaignRequest(campaign_id=campaign_id)
        with grpc.insecure_channel(address) as channel:
            stub = campaign_service_pb2_grpc.CampaignServiceStub(channel)
            while not self._stop.wait(PROBE_PAUSE_S):
                started = time.perf_counter()
                stub.GetCampaign(request, metadata=metadata, timeout=30)
                if datetime.now(UTC) >= start_at:
                    self.latencies_ms.append((time.perf_counter() - started) * 1000)


def run_campaign(
    stack: contextlib.ExitStack,
    env: dict[str, str],
    *,
    org: str,
    n: int,
    name: str,
    completed: Callable[[str], Any],
) -> CampaignRun:
    """Start the server (stopped by `stack`), launch the campaign, wait until
    `completed(campaign_id)` returns the finished execution, and read the peak RSS then."""
    server = start_server(env)
    stack.callback(server.stop)
    idle_rss = server_peak_rss_mb(server.process.pid)
    token = server.token(org, "admin")
    profiler = Profiler(server.process.pid)
    stack.callback(profiler.stop)
    launched = launch(server.address, token, name)
    probe = RpcProbe(server.address, token, launched.campaign_id, launched.scheduled_at)
    stack.callback(probe.stop)
    expect = expected(n, launched.campaign_id)
    print(
        f"[bench] campaign {launched.campaign_id}: expecting {len(expect.messages)} messages",
        file=sys.stderr,
        flush=True,
    )
    execution = wait_until(
        lambda: completed(launched.campaign_id),
        SCHEDULE_LEAD_S + timeout_for(n),
        "the execution to complete",
        lambda: server.process.poll() is None,
    )
    peak_rss = server_peak_rss_mb(server.process.pid)
    profiler.stop()
    latencies = probe.stop()
    return CampaignRun(server, launched, expect, execution, idle_rss, peak_rss, latencies)


def check(outcome: Outcome, expect: Expected, log: str, *, in_stream: int | None = None) -> None:
    """Raise unless the run produced exactly the expected messages, all handed over."""
    want = len(expect.messages)
    problems = []
    if outcome.messages != want:
        problems.append(f"{outcome.messages} messages stored, expected {want}")
    if outcome.handed_over != want:
        problems.append(f"{outcome.handed_over} messages handed over, expected {want}")
    if in_stream is not None and in_stream != want:
        problems.append(f"{in_stream} messages in the delivery stream, expected {want}")
    if outcome.counts.get("audience") != expect.audience:
        problems.append(f"audience {outcome.counts.get('audience')}, expected {expect.audience}")
    if problems:
        raise RuntimeError("wrong outcome: " + "; ".join(problems) + "\nserver log:\n" + log)


@dataclass(frozen=True)
class Measured:
    campaign_run: CampaignRun
    outcome: Outcome
    recipients: int


class RunDatabase(Protocol):
    """The benchmark's own look into the server's store."""

    def execution(self, campaign_id: str) -> Any:
        """The campaign's execution once it completed, else None (raises if it failed)."""

    def outcome(self, execution: Any) -> Outcome: ...


def measure(
    stack: contextlib.ExitStack,
    env: dict[str, str],
    db: RunDatabase,
    log: Callable[[str], None],
    *,
    org: str,
    n: int,
    name: str,
    in_stream: Callable[[], int] | None = None,
) -> Measured:
    """The measured run: run_campaign, then its outcome read and `in_stream()` (the messages in
    the delivery stream, where there is one) counted while the server still runs; then the
    server stopped and the outcome checked."""
    campaign_run = run_campaign(stack, env, org=org, n=n, name=name, completed=db.execution)
    outcome = db.outcome(campaign_run.execution)
    streamed = None if in_stream is None else in_stream()
    server = campaign_run.server
    server.stop()
    check(outcome, campaign_run.expect, server.log, in_stream=streamed)
    log(
        f"{outcome.messages} messages in {outcome.seconds:.2f} s"
        f" (fan-out {outcome.fan_out_seconds:.2f} s), peak RSS {campaign_run.peak_rss_mb} MB"
    )
    return Measured(campaign_run, outcome, n)


def result(
    scenario: str,
    measured: Measured,
    *,
    baseline_timings: dict[str, float],
    setup_s: float,
    mode: str,
    goal_ratio: float | None = None,
    goal_peak_rss_mb: float | None = None,
) -> dict[str, Any]:
    """The line to emit: messages/s against the baseline, which took the sum of
    `baseline_timings` (each reported, in seconds) for the same messages."""
    campaign_run, outcome = measured.campaign_run, measured.outcome
    messages = outcome.messages
    value = messages / outcome.seconds
    baseline = messages / sum(baseline_timings.values())
    ratio = value / baseline
    peak_rss = campaign_run.peak_rss_mb
    line: dict[str, Any] = {
        "scenario": scenario,
        "metric": "messages_per_s",
        "value": round(value, 1),
        "baseline": round(baseline, 1),
        "ratio": round(ratio, 3),
        "recipients": measured.recipients,
        "audience": campaign_run.expect.audience,
        "messages": messages,
        "seconds": round(outcome.seconds, 3),
        "fan_out_seconds": round(outcome.fan_out_seconds, 3),
        "peak_rss_mb": peak_rss,
        "idle_rss_mb": campaign_run.idle_rss_mb,
        **rpc_figures(campaign_run.rpc_during_run_ms),
        **{key: round(seconds, 3) for key, seconds in baseline_timings.items()},
        "setup_s": round(setup_s, 1),
        "mode": mode,
    }
    if goal_ratio is not None and goal_peak_rss_mb is not None:
        line["goal_ratio"] = goal_ratio
        line["goal_peak_rss_mb"] = goal_peak_rss_mb
        line["goal_met"] = bool(ratio >= goal_ratio and (peak_rss or 0) < goal_peak_rss_mb)
    return line


def rpc_figures(latencies_ms: list[float]) -> dict[str, Any]:
    """The RpcProbe's GetCampaign latencies during the run: p50, p99, max and how many."""
    if not latencies_ms:
        return {"rpc_during_run_calls": 0}
    ordered = sorted(latencies_ms)
    return {
        "rpc_during_run_calls": len(ordered),
        "rpc_during_run_p50_ms": round(ordered[len(ordered) // 2], 1),
        "rpc_during_run_p99_ms": round(ordered[min(len(ordered) - 1, len(ordered) * 99 // 100)], 1),
        "rpc_during_run_max_ms": round(ordered[-1], 1),
    }


def timeout_for(n: int) -> float:
    """Generous: 2 minutes plus 1 ms per recipient (1,000 recipients/s would be pathological)."""
    return 120.0 + n / 1_000


@contextlib.contextmanager
def inputs_frozen() -> Iterator[None]:
    """The baseline's prebuilt inputs (a million rows and payloads) kept out of the garbage
    collector's scans while it is timed: they stand for data streamed from elsewhere, and
    rescanning them on every full collection would slow the baseline by an artifact."""
    gc.collect()
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


class Profiler:
    """`py-spy record` of the server while it executes, when BENCH_PYSPY names an output file
    (collapsed stacks; BENCH_PYSPY_BIN picks the binary). Off by default: it costs CPU."""

    def __init__(self, pid: int) -> None:
        self._process: subprocess.Popen[bytes] | None = None
        out = os.environ.get("BENCH_PYSPY", "").strip()
        if not out:
            return
        binary = os.environ.get("BENCH_PYSPY_BIN", "py-spy")
        command = [binary, "record", "-p", str(pid), "-o", out, "-f", "raw", "-r", "200"]
        command += os.environ.get("BENCH_PYSPY_ARGS", "").split()  # e.g. --native
        self._process = subprocess.Popen(
            [*command, "--nonblocking"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )

    def stop(self) -> None:
        if self._process is None or self._process.poll() is not None:
            return
        self._process.send_signal(signal.SIGINT)
        try:
            self._process.wait(30)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait(10)
