"""Structured logs: JSON lines for machines, colored key=value for people (CAMPAIGN_LOG_FORMAT).

The standard-library lines of every library (NATS, aiohttp, gRPC, SQLAlchemy, asyncio,
warnings) go through one handler on the root logger whose formatter is structlog's
ProcessorFormatter; our structlog lines take the same processors directly. So in JSON mode each
line is one JSON object, an exception's traceback included, and every line passes the
personal-data redaction (server.observability.log_redaction). docs/observability.md, "Logs".
"""

from __future__ import annotations

import logging
import sys
import threading
from types import TracebackType
from typing import TextIO

import structlog
from structlog.types import Processor

from server.observability.log_redaction import redact_personal_data
from server.observability.log_tracing import add_trace_ids

# Libraries whose lower levels narrate data, not problems: SQLAlchemy's engine logs each
# statement with its parameters (recipients' addresses among them) at INFO, aiosqlite each call
# with its arguments at DEBUG, hpack the headers it decodes (bearer tokens). They speak from
# WARNING, whatever CAMPAIGN_LOG_LEVEL says; Alembic narrates every migration step at INFO.
QUIET_BELOW_WARNING = ("alembic", "sqlalchemy.engine", "aiosqlite", "hpack")


def configure_logging(
    level: str, fmt: str, *, tracing: bool = False, stream: TextIO | None = None
) -> None:
    """Route structlog and the standard library through one renderer on `stream` (stderr).
    `tracing`: add the current span's trace_id and span_id to each line."""
    numeric = logging.getLevelName(level.upper())
    output = stream if stream is not None else sys.stderr
    shared: list[Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    if tracing:
        shared.append(add_trace_ids)
    final: list[Processor] = [
        # the traceback as text inside the line, so redaction sees it too
        structlog.processors.format_exc_info,
        redact_personal_data,
        _renderer(fmt, output),
    ]
    # Our own lines skip the standard library's machinery (two LogRecords a line cost more
    # than the rest of an access line); they meet the foreign ones at the same last steps.
    structlog.configure(
        processors=[*shared, structlog.processors.StackInfoRenderer(), *final],
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        logger_factory=_NamedWriteLoggerFactory(output),
        cache_logger_on_first_use=True,
    )
    handler = logging.StreamHandler(output)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=shared,
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, *final],
        )
    )
    root = logging.getLogger()
    for old in root.handlers[:]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(numeric)
    for name in QUIET_BELOW_WARNING:
        logging.getLogger(name).setLevel(max(numeric, logging.WARNING))
    logging.captureWarnings(True)
    _log_uncaught_exceptions()


class _NamedWriteLogger(structlog.WriteLogger):
    """structlog's plain writer, with the name `structlog.get_logger(name)` was given, for
    structlog.stdlib.add_logger_name."""

    def __init__(self, file: TextIO, name: str) -> None:
        super().__init__(file)
        self.name = name


class _NamedWriteLoggerFactory:
    def __init__(self, file: TextIO) -> None:
        self._file = file

    def __call__(self, *args: object) -> _NamedWriteLogger:
        return _NamedWriteLogger(self._file, str(args[0]) if args else "campaign")


def _renderer(fmt: str, output: TextIO) -> Processor:
    if fmt == "json":
        return structlog.processors.JSONRenderer()
    return structlog.dev.ConsoleRenderer(
        colors=output.isatty(), exception_formatter=structlog.dev.plain_traceback
    )


def _log_uncaught_exceptions() -> None:
    """A crash's traceback is a log line like any other, not bare text after the last one."""
    log = structlog.get_logger("campaign")

    def on_uncaught(
        kind: type[BaseException], error: BaseException, tb: TracebackType | None
    ) -> None:
        if issubclass(kind, KeyboardInterrupt):
            sys.__excepthook__(kind, error, tb)
            return
        log.critical("uncaught exception", exc_info=(kind, error, tb))

    def on_thread(args: threading.ExceptHookArgs) -> None:
        if args.exc_value is None or args.exc_type is SystemExit:
            return
        log.error(
            "uncaught exception in a thread",
            thread=args.thread.name if args.thread else None,
            exc_info=(args.exc_type, args.exc_value, args.exc_traceback),
        )

    sys.excepthook = on_uncaught
    threading.excepthook = on_thread
