"""A transactional message belongs to no execution: clients and the delivery payload see an empty
execution_id, whatever the store groups it under (the contract of Message.execution_id)."""

from __future__ import annotations

from datetime import UTC, datetime

import orjson

from adapters.nats.delivery import _payload
from domain.execution.model import TRANSACTIONAL_EXECUTION, Message, reported_execution_id
from domain.kernel.channels import Channel

NOW = datetime(2030, 1, 1, tzinfo=UTC)


def message(execution_id: str) -> Message:
    return Message(
        message_id="m-1",
        execution_id=execution_id,
        campaign_id="c-1",
        organization_id="org",
        user_id="ann",
        variant_id="",
        channel=Channel.EMAIL,
        recipient="ann@example.com",
        content={"subject": "Hi"},
        send_after=NOW,
        queued_at=NOW,
    )


def test_a_transactional_message_reports_no_execution():
    assert reported_execution_id(message(TRANSACTIONAL_EXECUTION)) == ""
    assert orjson.loads(_payload(message(TRANSACTIONAL_EXECUTION)))["execution_id"] == ""


def test_a_run_message_reports_its_execution():
    assert reported_execution_id(message("e-1")) == "e-1"
    assert orjson.loads(_payload(message("e-1")))["execution_id"] == "e-1"
