"""The sandbox reports each handed-over message delivered through the intake, once the mark is
committed, with a deterministic event id; a batch whose reports failed goes with the next one."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from adapters.embedded.sandbox_delivery import SandboxDelivery
from domain.events.model import Door, InboundEvent, Outcome, Taken
from domain.execution.model import Message, MessageStatus
from domain.kernel.channels import Channel
from domain.kernel.errors import DependencyUnavailableError

T0 = datetime(2026, 6, 3, 12, 0, tzinfo=UTC)


class Clock:
    def now(self) -> datetime:
        return T0


class FlakyIntake:
    def __init__(self, failures: int = 0) -> None:
        self.batches: list[list[InboundEvent]] = []
        self._failures = failures

    async def take_batch(self, events: Sequence[InboundEvent]) -> list[Taken]:
        if self._failures:
            self._failures -= 1
            raise DependencyUnavailableError("database away")
        self.batches.append(list(events))
        return [Taken(Outcome.ACCEPTED) for _ in events]


def message(n: int) -> Message:
    return Message(
        message_id=f"m-{n}",
        execution_id="e",
        campaign_id="c",
        organization_id="org",
        user_id=f"u-{n}",
        variant_id="",
        channel=Channel.EMAIL,
        recipient="a@example.com",
        content={},
        send_after=T0,
        queued_at=T0,
    )


async def test_messages_are_handed_over_sent_and_reported_delivered_after_the_mark() -> None:
    intake = FlakyIntake()
    sandbox = SandboxDelivery(clock=Clock())
    sandbox.report_to(intake)

    await sandbox.publish([message(1), message(2)])
    assert intake.batches == []  # nothing from inside publish: the relay still holds the rows
    await sandbox.handed_over([message(1), message(2)])

    assert sandbox.handed_over_status is MessageStatus.SENT
    [batch] = intake.batches
    assert [(e.event_id, e.event_type, e.door) for e in batch] == [
        ("sandbox:delivered:m-1", "notification.delivered", Door.SANDBOX),
        ("sandbox:delivered:m-2", "notification.delivered", Door.SANDBOX),
    ]
    assert batch[0].properties == {
        "message_id": "m-1",
        "status": "delivered",
        "occurred_at": T0.isoformat(),
    }


async def test_reports_that_failed_go_with_the_next_hand_over() -> None:
    intake = FlakyIntake(failures=1)
    sandbox = SandboxDelivery(clock=Clock())
    sandbox.report_to(intake)

    await sandbox.handed_over([message(1)])  # logged, not raised: the run is not at fault
    await sandbox.handed_over([message(2)])

    assert [[e.event_id for e in b] for b in intake.batches] == [
        ["sandbox:delivered:m-1", "sandbox:delivered:m-2"]
    ]
