"""Every line, from structlog or from any standard-library logger, is one JSON object in JSON
mode, its traceback inside it; personal data and credentials are masked in every line; the
current span's ids ride along when tracing is on (server.logging_setup)."""

from __future__ import annotations

import io
import json
import logging
import sys
import threading
import warnings
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import structlog
from opentelemetry.sdk.trace import TracerProvider

from adapters.tracking.links import SignedTrackingLinks
from domain.execution.tracking import Purpose, TrackedLink
from server.logging_setup import configure_logging
from server.observability.log_redaction import redact_text

Lines = Callable[[], list[dict[str, Any]]]


@pytest.fixture
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    quiet = {name: logging.getLogger(name).level for name in ("sqlalchemy.engine", "alembic")}
    config = structlog.get_config()
    hooks = sys.excepthook, threading.excepthook
    try:
        yield
    finally:
        for handler in root.handlers[:]:
            root.removeHandler(handler)
        for handler in handlers:
            root.addHandler(handler)
        root.setLevel(level)
        for name, was in quiet.items():
            logging.getLogger(name).setLevel(was)
        logging.captureWarnings(False)
        structlog.reset_defaults()
        structlog.configure(**config)
        sys.excepthook, threading.excepthook = hooks


def json_logs(restore_logging: None, level: str = "DEBUG", *, tracing: bool = False) -> Lines:
    out = io.StringIO()
    configure_logging(level, "json", tracing=tracing, stream=out)
    return lambda: [json.loads(line) for line in out.getvalue().splitlines()]


def test_a_standard_library_line_is_one_json_object(restore_logging: None):
    lines = json_logs(restore_logging)

    logging.getLogger("nats.aio.client").warning("server %s is slow (%d ms)", "n1", 250)

    assert lines() == [
        {
            "event": "server n1 is slow (250 ms)",
            "level": "warning",
            "logger": "nats.aio.client",
            "timestamp": lines()[0]["timestamp"],
        }
    ]


def test_a_structlog_line_carries_its_fields_and_logger(restore_logging: None):
    lines = json_logs(restore_logging)

    structlog.get_logger("campaign.test").info("run started", execution_id="e1", audience=3)

    [line] = lines()
    assert line["event"] == "run started"
    assert (line["logger"], line["level"]) == ("campaign.test", "info")
    assert (line["execution_id"], line["audience"]) == ("e1", 3)


@pytest.mark.parametrize("source", ["stdlib", "structlog"])
def test_an_exception_is_rendered_inside_its_json_object(restore_logging: None, source: str):
    lines = json_logs(restore_logging)

    try:
        raise ConnectionResetError("pool connection lost")
    except ConnectionResetError:
        if source == "stdlib":
            logging.getLogger("sqlalchemy.pool.impl").exception("reset failed")
        else:
            structlog.get_logger("campaign.errors").exception("unhandled error")

    [line] = lines()
    assert line["level"] == "error"
    assert line["exception"].startswith("Traceback (most recent call last)")
    assert "ConnectionResetError: pool connection lost" in line["exception"]


def test_a_warning_is_one_json_object(restore_logging: None):
    lines = json_logs(restore_logging)

    warnings.warn("this option goes away", DeprecationWarning, stacklevel=1)

    [line] = lines()
    assert line["logger"] == "py.warnings"
    assert "DeprecationWarning: this option goes away" in line["event"]


def test_an_uncaught_exception_is_one_json_object(restore_logging: None):
    lines = json_logs(restore_logging)

    try:
        raise RuntimeError("boom")
    except RuntimeError as exc:
        sys.excepthook(RuntimeError, exc, exc.__traceback__)

    [line] = lines()
    assert (line["event"], line["level"]) == ("uncaught exception", "critical")
    assert "RuntimeError: boom" in line["exception"]


def test_levels_below_the_configured_one_are_dropped_from_every_source(restore_logging: None):
    lines = json_logs(restore_logging, "WARNING")

    structlog.get_logger("campaign").info("not shown")
    logging.getLogger("aiohttp.access").info("not shown either")
    structlog.get_logger("campaign").warning("shown")

    assert [line["event"] for line in lines()] == ["shown"]


def test_statement_logs_stay_quiet_even_at_debug(restore_logging: None):
    # SQLAlchemy logs statements with their parameters (recipients' addresses) at INFO.
    lines = json_logs(restore_logging, "DEBUG")

    logging.getLogger("sqlalchemy.engine.Engine").info("INSERT INTO messages ... ('a', 'b')")
    logging.getLogger("sqlalchemy.engine.Engine").warning("a real problem")

    assert [line["event"] for line in lines()] == ["a real problem"]


def test_personal_data_is_masked_in_every_line(restore_logging: None):
    lines = json_logs(restore_logging)
    token = SignedTrackingLinks([b"k" * 32], "http://t.example").url(
        Purpose.OPEN, TrackedLink("org-1", "3f0c4f6e-2f4b-4e36-a1c8-0c2a2d7e8f10")
    )
    jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhIn0.c2lnbmF0dXJl"

    logging.getLogger("asyncpg").error(
        "duplicate key: Key (email)=(ann.lee@example.com) phone +33 6 12 34 56 78 at %s", token
    )
    structlog.get_logger("campaign").warning(
        "upstream refused",
        cause="authorization: Bearer abc.def-ghi for bob@mail.example.org",
        contact={"phone": "0612345678", "token": "opaque"},
        jwt_seen=jwt,
    )
    try:
        raise ValueError("no such user carol@example.net")
    except ValueError:
        structlog.get_logger("campaign").exception("failed")

    text = json.dumps(lines())
    for secret in ("ann.lee", "bob@", "carol@", "12 34 56 78", "0612345678", "abc.def", "opaque"):
        assert secret not in text
    assert jwt not in text
    assert token.rsplit("/", 1)[1] not in text
    first, second, third = lines()
    assert first["event"].startswith("duplicate key: Key (email)=([email]) phone [phone] at ")
    assert first["event"].endswith("/o/[token]")
    assert second["cause"] == "authorization: Bearer [token] for [email]"
    assert second["contact"] == {"phone": "[phone]", "token": "[redacted]"}
    assert second["jwt_seen"] == "[jwt]"
    assert "ValueError: no such user [email]" in third["exception"]


@pytest.mark.parametrize(
    "text",
    [
        "2026-12-05T08:40:07.123456Z",
        "execution 3f0c4f6e-2f4b-4e36-a1c8-0c2a2d7e8f10 in 1234567 ms",
        "ipv4:127.0.0.1:55940",
        "rate 1099.7 per s, eta 0.25 s, 10000 recipients",
        "/campaign.v1.CampaignService/ListExecutions",
        "sqlalchemy.engine.Engine",
    ],
)
def test_timestamps_ids_addresses_of_peers_and_numbers_are_left_alone(text: str):
    assert redact_text(text) == text


def test_trace_and_span_ids_join_each_line_inside_a_span(restore_logging: None):
    lines = json_logs(restore_logging, tracing=True)
    tracer = TracerProvider().get_tracer("test")

    with tracer.start_as_current_span("rpc") as span:
        structlog.get_logger("campaign").info("inside")
        logging.getLogger("nats").info("inside too")
    structlog.get_logger("campaign").info("outside")

    context = span.get_span_context()
    inside, inside_too, outside = lines()
    for line in (inside, inside_too):
        assert line["trace_id"] == format(context.trace_id, "032x")
        assert line["span_id"] == format(context.span_id, "016x")
    assert "trace_id" not in outside
