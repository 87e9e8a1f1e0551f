"""Scenario `execute-100k-embedded`: a 100,000-recipient campaign on the embedded default.

The same population and campaign as `execute-1m` (see execute_common), on what `make run` gives a
laptop: the SQLite file in the data directory, the in-process rate limiter and the sandbox
delivery (which reports every message delivered at once). Setup (not measured): `campaign-service
migrate`, the contacts and suppressions written straight into the SQLite file, then the real
`campaign-service serve` process and the campaign created and scheduled through the gRPC API.

Measured: from the execution's `started_at` to the last message's `sent_at` (stamped by the
server when the sandbox took it), messages/s, and the server's peak RSS. Baseline, in the same
run with the server stopped: a raw sqlite3 `executemany` INSERT of the same message rows (one
transaction, WAL, synchronous=NORMAL like the server) into a scratch database with the messages
table's schema and indexes; baseline = messages / insert s. No goal is set for this scenario.

BENCH_RECIPIENTS scales the population; BENCH_CAMPAIGN_X=v passes CAMPAIGN_X=v to the server.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, insert

from adapters.sql.audience.tables import contact_attribute_names, contacts, suppressions
from adapters.sql.engine import SQLITE_FILE
from adapters.sql.execution.messages import COLUMNS as MESSAGE_COLUMNS
from bench.loadgen import LoadSettings
from bench.processes import migrate
from bench.scenarios import Emit
from bench.scenarios import execute_common as common

DESCRIPTION = "100k-recipient campaign on SQLite + sandbox delivery: messages/s vs raw inserts"
SCENARIO = "execute-100k-embedded"
DEFAULT_RECIPIENTS = 100_000
LOAD_CHUNK = 10_000
SQLITE_TIME = "%Y-%m-%d %H:%M:%S.%f"  # how SQLAlchemy stores a naive UTC datetime in SQLite


def load_population(database: Path, org: str, n: int) -> None:
    """Through SQLAlchemy's own types, so the rows are exactly what the service writes."""
    now = datetime.now(UTC)
    engine = create_engine(f"sqlite:///{database}")
    try:
        with engine.begin() as connection:
            for start in range(0, n, LOAD_CHUNK):
                rows = [
                    dict(zip(common.CONTACT_COLUMNS, common.contact_row(org, i, now), strict=True))
                    for i in range(start, min(n, start + LOAD_CHUNK))
                ]
                for row in rows:
                    row["attributes"] = json.loads(row["attributes"])
                connection.execute(insert(contacts), rows)
            entries = [
                dict(zip(common.SUPPRESSION_COLUMNS, row, strict=True))
                for row in common.suppression_rows(org, n, now)
            ]
            if entries:
                connection.execute(insert(suppressions), entries)
            connection.execute(
                insert(contact_attribute_names),
                [
                    dict(zip(common.ATTRIBUTE_NAME_COLUMNS, row, strict=True))
                    for row in common.attribute_name_rows(org)
                ],
            )
        with engine.begin() as connection:
            connection.exec_driver_sql("ANALYZE")
    finally:
        engine.dispose()


def _instant(text: str | None) -> datetime:
    if text is None:
        raise RuntimeError("missing timestamp")
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


class Database:
    """A read-only look into the server's SQLite file (WAL: never blocks the server)."""

    def __init__(self, path: Path) -> None:
        self._conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10)

    def close(self) -> None:
        self._conn.close()

    def execution(self, campaign_id: str) -> tuple[Any, ...] | None:
        row = self._conn.execute(
            "SELECT execution_id, status, started_at, counts FROM executions WHERE campaign_id = ?",
            (campaign_id,),
        ).fetchone()
        if row is not None and row[1] in ("failed", "cancelled"):
            raise RuntimeError(f"execution ended {row[1]}: {row}")
        return row if row is not None and row[1] == "completed" else None

    def outcome(self, execution: tuple[Any, ...]) -> common.Outcome:
        execution_id, status, started_at, counts = execution
        messages, handed, last_sent, last_queued = self._conn.execute(
            # A batch the executor handed over itself is marked in its handovers row.
            "SELECT count(*), sum(m.status = 'delivered' OR h.status = 'delivered'),"
            " max(coalesce(m.sent_at, h.handed_over_at)), max(m.queued_at)"
            " FROM messages m LEFT JOIN handovers h ON h.handover_id = m.handover_id"
            " WHERE m.execution_id = ?",
            (execution_id,),
        ).fetchone()
        return common.Outcome(
            execution_id=execution_id,
            status=status,
            started_at=_instant(started_at),
            last_sent_at=_instant(last_sent),
            last_queued_at=_instant(last_queued),
            messages=messages,
            handed_over=handed or 0,
            counts=json.loads(counts),
        )


def baseline_insert(
    source: Path, scratch: Path, expect: common.Expected, launched: common.Launched, org: str
) -> float:
    """Seconds for a raw executemany INSERT of the run's message rows into an empty copy of the
    messages table (same columns and indexes) in a scratch database."""
    with contextlib.closing(sqlite3.connect(source)) as conn:
        ddl = [
            sql
            for (sql,) in conn.execute(
                "SELECT sql FROM sqlite_master WHERE tbl_name = 'messages' AND sql IS NOT NULL"
                " ORDER BY type DESC"  # the table before its indexes
            )
        ]
    execution_id = "bench-baseline"
    now = datetime.now(UTC).strftime(SQLITE_TIME)
    rows = [
        common.message_record(
            m, org, launched.campaign_id, execution_id, content=json.dumps(m.content), now=now
        )
        for m in common.baseline_messages(expect, launched, execution_id)
    ]
    statement = (
        f"INSERT INTO messages ({', '.join(MESSAGE_COLUMNS)})"
        f" VALUES ({', '.join('?' for _ in MESSAGE_COLUMNS)})"
    )
    conn = sqlite3.connect(scratch, isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        for sql in ddl:
            conn.execute(sql)
        with common.inputs_frozen():
            started = time.perf_counter()
            conn.execute("BEGIN IMMEDIATE")
            conn.executemany(statement, rows)
            conn.execute("COMMIT")
            elapsed = time.perf_counter() - started
        (count,) = conn.execute("SELECT count(*) FROM messages").fetchone()
        if count != len(rows):
            raise RuntimeError(f"baseline wrote {count} rows, expected {len(rows)}")
        return elapsed
    finally:
        conn.close()


def run(emit: Emit, settings: LoadSettings) -> None:
    n = common.recipients_from_env(DEFAULT_RECIPIENTS)
    run_id = uuid.uuid4().hex[:8]
    org = f"bench-embedded-{run_id}"
    log = common.logger(SCENARIO)
    with contextlib.ExitStack() as stack:
        data_dir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-embed-")))
        env = common.bench_server_env(data_dir)
        migrate(env)
        database = data_dir / SQLITE_FILE
        started = time.monotonic()
        load_population(database, org, n)
        setup_s = time.monotonic() - started
        log(f"{n} contacts loaded in {setup_s:.1f} s into {database}")

        db = Database(database)
        stack.callback(db.close)
        measured = common.measure(
            stack, env, db, log, org=org, n=n, name=f"bench embedded {run_id}"
        )
        run = measured.campaign_run
        insert_s = baseline_insert(
            database, data_dir / "baseline.db", run.expect, run.launched, org
        )
        emit(
            common.result(
                SCENARIO,
                measured,
                baseline_timings={"baseline_insert_s": insert_s},
                setup_s=setup_s,
                mode="server process (embedded: sqlite, in-process limiter, sandbox delivery)",
            )
        )
