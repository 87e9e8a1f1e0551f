"""GetMessage and ListMessages show what delivery reports recorded: every status's first instant,
the bounce type and the provider's message id."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from campaign.v1 import execution_pb2 as xpb

from domain.execution.feedback import BounceType, Progress, Report, advance, with_progress
from domain.execution.model import Message, MessageStatus
from domain.kernel.channels import Channel
from server.mappers.executions import message_to_proto

T0 = datetime(2026, 6, 3, 12, 0, tzinfo=UTC)


def reported(*reports: Report) -> Message:
    base = Message(
        message_id="m-1",
        execution_id="e-1",
        campaign_id="c-1",
        organization_id="org",
        user_id="u-1",
        variant_id="",
        channel=Channel.EMAIL,
        recipient="a@example.com",
        content={},
        send_after=T0,
        queued_at=T0,
    )
    progress = Progress()
    for report in reports:
        progress = advance(progress, report)
    return with_progress(base, progress)


def test_every_reached_status_shows_its_first_instant() -> None:
    message = reported(
        Report(MessageStatus.CLICKED, T0 + timedelta(minutes=3), provider_message_id="p-9"),
        Report(MessageStatus.UNSUBSCRIBED, T0 + timedelta(minutes=4)),
    )

    out = message_to_proto(message)

    assert out.status == xpb.MESSAGE_STATUS_UNSUBSCRIBED
    stamps = {
        name: getattr(out, name).ToDatetime(UTC)
        for name in ("sent_at", "delivered_at", "opened_at", "clicked_at", "unsubscribed_at")
    }
    assert stamps == {
        "sent_at": T0 + timedelta(minutes=3),
        "delivered_at": T0 + timedelta(minutes=3),
        "opened_at": T0 + timedelta(minutes=3),
        "clicked_at": T0 + timedelta(minutes=3),
        "unsubscribed_at": T0 + timedelta(minutes=4),
    }
    assert not out.HasField("bounced_at")
    assert not out.HasField("converted_at")
    assert out.provider_message_id == "p-9"
    assert out.bounce_type == xpb.BOUNCE_TYPE_UNSPECIFIED


def test_a_bounce_shows_its_type_instant_and_reason() -> None:
    at = T0 + timedelta(minutes=2)
    out = message_to_proto(
        reported(Report(MessageStatus.BOUNCED, at, BounceType.HARD, "no such user"))
    )

    assert (out.status, out.bounce_type, out.error) == (
        xpb.MESSAGE_STATUS_BOUNCED,
        xpb.BOUNCE_TYPE_HARD,
        "no such user",
    )
    assert out.bounced_at.ToDatetime(UTC) == at
