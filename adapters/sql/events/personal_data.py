"""PersonalData on SQL: erasure and consent, in the intake's transaction (docs/erasure.md).

Everything runs on the unit of work's connection, never through the audience stores (each of
which would open a transaction of its own: on SQLite a second writer would wait for the intake's
lock until it timed out, and on Postgres the erasure would no longer commit with the event id).

A user's messages are found through the (execution_id, user_id) index, one probe per execution of
the organization, so neither the erasure nor the 1M-row COPY of a run pays for an index of its own.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Table,
    Text,
    and_,
    cast,
    delete,
    func,
    or_,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncConnection

from adapters.sql.audience.stores import dialect_insert
from adapters.sql.audience.tables import ADDRESS, USER, contacts, suppressions
from adapters.sql.documents import decode_document
from adapters.sql.events.tables import conversions, inbound_events, trigger_evaluations
from adapters.sql.execution.messages import CLAIMED, DISPATCHING, UNSENT
from adapters.sql.execution.tables import executions, handovers, holdout_members, messages
from adapters.sql.schema import outbox_events
from domain.audience.model import address_key
from domain.audience.pseudonyms import Pseudonyms
from domain.events.lifecycle import ErasureCounts
from domain.execution.model import (
    FINISHED_EXECUTIONS,
    TRANSACTIONAL_EXECUTION,
    MessageStatus,
)
from domain.kernel.channels import Channel

# Every other table that names users by user_id, with that column: the erasure replaces the
# user's id there by its pseudonym (rows and their counts stay). A context that adds a table of
# user history adds it here.
USER_COLUMNS: list[tuple[Table, str]] = [
    (inbound_events, "user_id"),
    (trigger_evaluations, "user_id"),
    (conversions, "user_id"),
]

_OPT_IN_COLUMNS = {
    Channel.EMAIL: "email_opted_in",
    Channel.SMS: "sms_opted_in",
    Channel.WHATSAPP: "whatsapp_opted_in",
    Channel.IN_APP: "in_app_opted_in",
}
# The contact address a channel's consent needs (contact_problems: no opt-in without it).
_ADDRESS_OF = {Channel.EMAIL: "email", Channel.SMS: "phone", Channel.WHATSAPP: "phone"}
_ADDRESSED = (Channel.EMAIL.value, Channel.SMS.value, Channel.WHATSAPP.value)


class SqlPersonalData:
    def __init__(self, connection: AsyncConnection) -> None:
        self._c = connection

    # --- erasure ---------------------------------------------------------------------------

    async def erase(
        self, organization_id: str, user_id: str, pseudonyms: Pseudonyms, reason: str, at: datetime
    ) -> ErasureCounts:
        org = organization_id
        pseudonym = pseudonyms.user(org, user_id)
        addresses = await self._addresses(org, user_id)
        cancelled = await self._cancel(org, user_id, reason, None)
        await self._forget_handover_bounds(org, user_id, pseudonym)
        replacements = {user_id: pseudonym}
        replacements.update({a: pseudonyms.address(org, a) for a in addresses})
        messages_changed = await self._pseudonymize_messages(
            org, user_id, pseudonym, pseudonyms, replacements
        )
        await self._forget_cursors(org, user_id, pseudonym)
        suppressions_changed = await self._pseudonymize_suppressions(
            org, user_id, addresses, pseudonyms
        )
        deleted = await self._c.execute(
            delete(contacts).where(contacts.c.organization_id == org, contacts.c.user_id == user_id)
        )
        history = 0
        for table, column in USER_COLUMNS:
            result = await self._c.execute(
                update(table)
                .where(table.c.organization_id == org, table.c[column] == user_id)
                .values({column: pseudonym})
            )
            history += int(result.rowcount)
        history += await self._pseudonymize_holdout(org, user_id, pseudonym)
        rewritten = await self._rewrite_outbox(org, replacements)
        return ErasureCounts(
            contacts_deleted=int(deleted.rowcount),
            messages_pseudonymized=messages_changed,
            pending_cancelled=cancelled,
            suppressions_pseudonymized=suppressions_changed,
            history_pseudonymized=history,
            events_rewritten=rewritten,
        )

    async def _pseudonymize_holdout(self, org: str, user_id: str, pseudonym: str) -> int:
        """The runs that held the user out (docs/conversions.md), through the table's
        (execution_id, user_id) key, one probe per run of the organization."""
        runs = select(executions.c.execution_id).where(executions.c.organization_id == org)
        result = await self._c.execute(
            update(holdout_members)
            .where(
                holdout_members.c.execution_id.in_(runs),
                holdout_members.c.user_id == user_id,
                holdout_members.c.organization_id == org,
            )
            .values(user_id=pseudonym)
        )
        return int(result.rowcount)

    async def _addresses(self, org: str, user_id: str) -> set[str]:
        """The user's addresses: the contact's, and every one a message was sent to (an
        audience from the data service leaves no contact here)."""
        found: set[str] = set()
        row = (
            await self._c.execute(
                select(contacts.c.email, contacts.c.phone).where(
                    contacts.c.organization_id == org, contacts.c.user_id == user_id
                )
            )
        ).first()
        if row is not None:
            found.update(a for a in (row.email, row.phone) if a)
        recipients = await self._c.execute(
            select(messages.c.recipient)
            .where(self._of_user(org, user_id), messages.c.channel.in_(_ADDRESSED))
            .distinct()
        )
        found.update(r for (r,) in recipients if r)
        return found

    def _of_user(self, org: str, user_id: str) -> ColumnElement[bool]:
        """The user's messages, through the (execution_id, user_id) index: one probe per
        execution of the organization, and one for its transactional messages."""
        runs = select(executions.c.execution_id).where(executions.c.organization_id == org)
        return and_(
            or_(
                messages.c.execution_id.in_(runs),
                messages.c.execution_id == TRANSACTIONAL_EXECUTION,
            ),
            messages.c.user_id == user_id,
            messages.c.organization_id == org,
        )

    async def _cancel(self, org: str, user_id: str, reason: str, channel: Channel | None) -> int:
        """Sends not handed over: queued, deferred, held, and rows of a batch an executor has
        claimed but not handed over (a batch being handed over this very instant may still go:
        the executor holds it in memory; its rows then read as cancelled)."""
        claimed = select(handovers.c.handover_id).where(handovers.c.status == CLAIMED)
        where = [
            self._of_user(org, user_id),
            or_(
                messages.c.status.in_(UNSENT),
                and_(messages.c.status == DISPATCHING, messages.c.handover_id.in_(claimed)),
            ),
        ]
        if channel is not None:
            where.append(messages.c.channel == channel.value)
        result = await self._c.execute(
            update(messages)
            .where(*where)
            .values(status=MessageStatus.CANCELLED.value, error=reason, handover_id=None)
        )
        return int(result.rowcount)

    async def _forget_handover_bounds(self, org: str, user_id: str, pseudonym: str) -> None:
        """A batch's user range may begin or end at the user. A claimed batch's range must keep
        covering its rows (release_claims walks it), so it shrinks to the rows left; a handed
        over one's range is never read again and takes the pseudonym."""
        for bound in (handovers.c.first_user_id, handovers.c.last_user_id):
            rows = await self._c.execute(
                select(handovers.c.handover_id, handovers.c.status, handovers.c.execution_id)
                .join(executions, executions.c.execution_id == handovers.c.execution_id)
                .where(executions.c.organization_id == org, bound == user_id)
            )
            for handover_id, status, execution_id in rows.all():
                value = pseudonym
                if status == CLAIMED:
                    edge = func.min if bound is handovers.c.first_user_id else func.max
                    left = await self._c.scalar(
                        select(edge(messages.c.user_id)).where(
                            messages.c.execution_id == execution_id,
                            messages.c.handover_id == handover_id,
                            messages.c.user_id != user_id,
                        )
                    )
                    value = left if left is not None else pseudonym
                await self._c.execute(
                    update(handovers)
                    .where(handovers.c.handover_id == handover_id)
                    .values({bound.name: value})
                )

    async def _pseudonymize_messages(
        self,
        org: str,
        user_id: str,
        pseudonym: str,
        pseudonyms: Pseudonyms,
        replacements: Mapping[str, str],
    ) -> int:
        """The rows stay (statuses, timestamps, counts); who and what they said go. An error
        text (a provider's "mailbox ana@... is full") keeps its words, with pseudonyms for the
        user's id and addresses."""
        errors = await self._c.execute(
            select(messages.c.message_id, messages.c.error).where(
                self._of_user(org, user_id), messages.c.error != ""
            )
        )
        for message_id, error in errors.all():
            clean = _replaced(error, replacements)
            if clean != error:
                await self._c.execute(
                    update(messages).where(messages.c.message_id == message_id).values(error=clean)
                )
        keyed = await self._c.execute(
            select(messages.c.message_id, messages.c.idempotency_key).where(
                self._of_user(org, user_id), messages.c.idempotency_key.is_not(None)
            )
        )
        for message_id, key in keyed.all():
            await self._c.execute(
                update(messages)
                .where(messages.c.message_id == message_id)
                .values(idempotency_key=pseudonyms.text(org, key))
            )
        result = await self._c.execute(
            update(messages)
            .where(self._of_user(org, user_id))
            .values(user_id=pseudonym, recipient="", content={}, content_digest="", timezone="")
        )
        return int(result.rowcount)

    async def _forget_cursors(self, org: str, user_id: str, pseudonym: str) -> None:
        """A run's checkpoint (the last user done) may be the user. A finished or fanned-out
        run never resumes from it: it takes the pseudonym. A run still fanning out resumes after
        it, so it moves back to the greatest user before it that this service knows of (a
        contact, or a recipient of the run): with the built-in directory nobody lies in between
        (the user is deleted in this transaction), so the run resumes exactly where it was.
        With the data service's audience, members in between who got no message are planned
        again (no message twice: message ids are derived). The executor holding the run sees
        its checkpoint moved and lets another attempt resume it."""
        rows = await self._c.execute(
            select(executions.c.execution_id, executions.c.status, executions.c.fanned_out).where(
                executions.c.organization_id == org, executions.c.cursor == user_id
            )
        )
        finished = {s.value for s in FINISHED_EXECUTIONS}
        for execution_id, status, fanned_out in rows.all():
            cursor = pseudonym
            if status not in finished and not fanned_out:
                before_contact = select(func.max(contacts.c.user_id)).where(
                    contacts.c.organization_id == org, contacts.c.user_id < user_id
                )
                before_message = select(func.max(messages.c.user_id)).where(
                    messages.c.execution_id == execution_id, messages.c.user_id < user_id
                )
                found = [await self._c.scalar(q) for q in (before_contact, before_message)]
                cursor = max((f for f in found if f is not None), default="")
            await self._c.execute(
                update(executions)
                .where(executions.c.execution_id == execution_id)
                .values(cursor=cursor)
            )

    async def _pseudonymize_suppressions(
        self, org: str, user_id: str, addresses: Iterable[str], pseudonyms: Pseudonyms
    ) -> int:
        """Entries of the user and of their addresses keep blocking, under the pseudonym
        (SqlSuppressionStore looks both up; a re-imported contact gets them back in clear)."""
        targets = {(USER, user_id): pseudonyms.user(org, user_id)}
        targets.update({(ADDRESS, address_key(a)): pseudonyms.address(org, a) for a in addresses})
        changed = 0
        for (kind, target), pseudonym in sorted(targets.items()):
            where = and_(
                suppressions.c.organization_id == org,
                suppressions.c.kind == kind,
                suppressions.c.target == target,
            )
            rows = (await self._c.execute(select(suppressions).where(where))).mappings().all()
            if not rows:
                continue
            await self._c.execute(
                dialect_insert(self._c, suppressions).on_conflict_do_nothing(),
                [{**row, "target": pseudonym} for row in rows],
            )
            changed += int((await self._c.execute(delete(suppressions).where(where))).rowcount)
        return changed

    async def _rewrite_outbox(self, org: str, replacements: Mapping[str, str]) -> int:
        """Lifecycle events that named the user (message events, say) keep their shape with the
        pseudonyms in place. Published ones went out already; what stays here is erased."""
        if not replacements:
            return 0
        text = func.lower(cast(outbox_events.c.payload, Text))
        matches = [text.contains(value.lower(), autoescape=True) for value in replacements]
        rows = await self._c.execute(
            select(outbox_events.c.seq, outbox_events.c.payload).where(
                outbox_events.c.organization_id == org, or_(*matches)
            )
        )
        rewritten = 0
        for seq, payload in rows.all():
            clean = _replaced(decode_document(payload), replacements)
            await self._c.execute(
                update(outbox_events).where(outbox_events.c.seq == seq).values(payload=clean)
            )
            rewritten += 1
        return rewritten

    # --- consent ---------------------------------------------------------------------------

    async def set_opt_ins(
        self, organization_id: str, user_id: str, opt_ins: Mapping[Channel, bool], at: datetime
    ) -> bool:
        key = and_(contacts.c.organization_id == organization_id, contacts.c.user_id == user_id)
        row = (await self._c.execute(select(contacts).where(key))).mappings().first()
        if row is None:
            return False
        values: dict[str, Any] = {"updated_at": at}
        for channel, consent in opt_ins.items():
            address = _ADDRESS_OF.get(channel)
            values[_OPT_IN_COLUMNS[channel]] = consent and (address is None or bool(row[address]))
        await self._c.execute(update(contacts).where(key).values(values))
        return True

    async def cancel_pending(
        self, organization_id: str, user_id: str, channel: Channel, reason: str, at: datetime
    ) -> int:
        return await self._cancel(organization_id, user_id, reason, channel)


def _replaced(value: Any, replacements: Mapping[str, str]) -> Any:
    """Every occurrence of a clear value, in any case (addresses are case-blind), replaced."""
    if isinstance(value, str):
        for clear, pseudonym in replacements.items():
            value = re.sub(re.escape(clear), pseudonym.replace("\\", "\\\\"), value, flags=re.I)
        return value
    if isinstance(value, dict):
        return {_replaced(k, replacements): _replaced(v, replacements) for k, v in value.items()}
    if isinstance(value, list):
        return [_replaced(v, replacements) for v in value]
    return value
