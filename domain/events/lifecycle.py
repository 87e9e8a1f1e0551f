"""The user lifecycle's port: what `user.deleted` and `user.preferences.updated` change in the
service's own store, inside the intake's transaction (docs/erasure.md).

One port over every table that holds a user's data, because an erasure must reach all of them
in the one transaction that records the event: a retried `user.deleted` then finds the id taken
and the erasure whole, never half done.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from domain.audience.pseudonyms import Pseudonyms
from domain.kernel.channels import Channel

# The reason a pending send of an erased user gets (status CANCELLED).
ERASED_REASON = "user_erased: the user was deleted (user.deleted); nothing sent"


def opted_out_reason(channel: Channel) -> str:
    """The reason a pending send to a channel the user just left gets (status CANCELLED)."""
    return (
        f"opted_out: the user left the {channel.value} channel "
        "(user.preferences.updated); nothing sent"
    )


@dataclass(frozen=True, slots=True)
class ErasureCounts:
    """What one erasure changed: the audit event carries these numbers and nothing personal."""

    contacts_deleted: int = 0
    messages_pseudonymized: int = 0
    pending_cancelled: int = 0
    suppressions_pseudonymized: int = 0
    history_pseudonymized: int = 0  # rows of the events ledger, trigger evaluations...
    events_rewritten: int = 0  # lifecycle events in the outbox that named the user


class PersonalData(Protocol):
    async def erase(
        self, organization_id: str, user_id: str, pseudonyms: Pseudonyms, reason: str, at: datetime
    ) -> ErasureCounts:
        """Delete the user's contact, cancel their pending sends with `reason`, and replace
        every stored trace of their user id and addresses by its pseudonym (or nothing, for
        rendered content and addresses in messages). Message rows stay, with their status, so
        every count stays the same."""

    async def set_opt_ins(
        self, organization_id: str, user_id: str, opt_ins: Mapping[Channel, bool], at: datetime
    ) -> bool:
        """Write the contact's consent per channel (an opt-in without an address on that
        channel stays off); False when the built-in directory has no such contact."""

    async def cancel_pending(
        self, organization_id: str, user_id: str, channel: Channel, reason: str, at: datetime
    ) -> int:
        """Cancel the user's sends on `channel` not handed over yet (queued, deferred, held,
        or claimed by an executor and not handed over); how many."""
