"""The execute benchmarks' baselines COPY message rows built without the engine: each must have
one value per column the engine writes, or the baseline fails (or, worse, measures other rows)
as soon as a migration adds a column."""

from __future__ import annotations

from datetime import UTC, datetime

from adapters.sql.execution.message_rows import COLUMNS, message_row
from bench.scenarios.execute_common import BaselineMessage, message_record
from domain.execution.model import Message, MessageStatus
from domain.kernel.channels import Channel


def test_a_baseline_row_has_the_engines_columns_in_their_order() -> None:
    now = datetime(2026, 12, 5, tzinfo=UTC)
    baseline = BaselineMessage("m-1", "u-1", "v-a", "u-1@example.com", {"subject": "Hi"}, "d1")
    record = message_record(baseline, "org", "c-1", "x-1", content='{"subject": "Hi"}', now=now)
    engine = message_row(
        Message(
            message_id="m-1",
            organization_id="org",
            campaign_id="c-1",
            execution_id="x-1",
            user_id="u-1",
            variant_id="v-a",
            channel=Channel.EMAIL,
            recipient="u-1@example.com",
            content={"subject": "Hi"},
            content_digest="d1",
            status=MessageStatus.QUEUED,
            send_after=now,
            queued_at=now,
        )
    )

    assert len(record) == len(COLUMNS)
    assert dict(zip(COLUMNS, record, strict=True)).keys() <= engine.keys()
    by_column = dict(zip(COLUMNS, record, strict=True))
    for column in ("message_id", "organization_id", "user_id", "channel", "status", "segment_id"):
        assert by_column[column] == engine[column], column
