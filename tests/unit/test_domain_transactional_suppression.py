"""Which suppressions bind a transactional send, and with which reason per channel."""

from __future__ import annotations

from domain.audience.contacts import Contact
from domain.audience.model import (
    TRANSACTIONAL_EXEMPT,
    Suppression,
    SuppressionReason,
    suppression_reasons,
)
from domain.execution.model import Message, MessageStatus
from domain.execution.suppression_notes import suppressed_note, suppression_reason_of
from domain.kernel.channels import Channel
from tests.contract.builders import T0

ANN = Contact("ann", email="ann@example.com", phone="+14155550100")
R = SuppressionReason


def reasons(*entries: Suppression) -> dict[Channel, SuppressionReason]:
    return suppression_reasons(ANN, entries, ignoring=TRANSACTIONAL_EXEMPT)


def test_an_unsubscribe_does_not_bind_a_transactional_send() -> None:
    assert reasons(Suppression(user_id="ann", reason=R.UNSUBSCRIBED)) == {}


def test_a_bounce_on_the_email_address_blocks_email_only() -> None:
    entry = Suppression(address="Ann@Example.com", channel=Channel.EMAIL, reason=R.BOUNCED)

    assert reasons(entry) == {Channel.EMAIL: R.BOUNCED}


def test_an_entry_for_every_channel_blocks_them_all_and_the_gravest_reason_is_reported() -> None:
    found = reasons(
        Suppression(user_id="ann", reason=R.MANUAL),
        Suppression(address="+14155550100", channel=Channel.SMS, reason=R.COMPLAINED),
        Suppression(user_id="someone-else", reason=R.BOUNCED),
    )

    assert found == dict.fromkeys(Channel, R.MANUAL) | {Channel.SMS: R.COMPLAINED}


def test_the_reason_travels_in_the_suppressed_message_note() -> None:
    base = Message("m", "x", "c", "o", "ann", "", Channel.EMAIL, "a", {}, T0, T0)
    suppressed = Message(
        "m", "x", "c", "o", "ann", "", Channel.EMAIL, "a", {}, T0, T0,
        status=MessageStatus.SUPPRESSED, error=suppressed_note(R.BOUNCED, Channel.EMAIL),
    )  # fmt: skip

    assert suppression_reason_of(suppressed) is R.BOUNCED
    assert suppression_reason_of(base) is None
