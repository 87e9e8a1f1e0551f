"""Why a message was not sent because of a suppression, kept in the message itself.

A SUPPRESSED message (SendTransactional to a recipient with a bounce, a complaint or an
operator's entry, docs/lifecycle.md) carries its reason in `error` as `<reason>: <explanation>`,
so the stored row needs no column of its own and GetMessage reports the same reason later.
"""

from __future__ import annotations

from domain.audience.model import SuppressionReason
from domain.execution.model import Message, MessageStatus
from domain.kernel.channels import Channel

_EXPLANATIONS = {
    SuppressionReason.BOUNCED: "the address hard-bounced",
    SuppressionReason.COMPLAINED: "the recipient marked a message as spam",
    SuppressionReason.MANUAL: "an operator suppressed the recipient (e.g. a GDPR erasure request)",
    SuppressionReason.UNSUBSCRIBED: "the recipient unsubscribed",
}


def suppressed_note(reason: SuppressionReason, channel: Channel) -> str:
    return f"{reason.value}: suppressed on {channel.value}, {_EXPLANATIONS[reason]}; nothing sent"


def suppression_reason_of(message: Message) -> SuppressionReason | None:
    """The reason of a SUPPRESSED message (None for any other, or one without a note)."""
    if message.status is not MessageStatus.SUPPRESSED:
        return None
    head = message.error.partition(":")[0]
    return SuppressionReason(head) if head in SuppressionReason.__members__.values() else None
