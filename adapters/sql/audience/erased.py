"""Suppressions of erased users, stored under pseudonyms (docs/erasure.md), brought back in clear
when the operator imports a contact with that user id or address again.

The audience queries compare suppressions with contacts in SQL, which cannot compute the keyed
hash; so instead of teaching every anti-join the pseudonym, a contact written to the directory
turns the entries that stand for it back into clear ones, in the upsert's transaction. The
address is then stored in the service again, because the operator stored it again.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import and_, delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from adapters.sql.audience.connections import chunked
from adapters.sql.audience.tables import ADDRESS, USER, suppressions
from adapters.sql.engine import is_postgres
from domain.audience.contacts import Contact
from domain.audience.model import address_key
from domain.audience.pseudonyms import PREFIX, Pseudonyms

_AFTER_PREFIX = PREFIX[:-1] + chr(ord(PREFIX[-1]) + 1)


async def has_erased(connection: AsyncConnection, organization_id: str) -> bool:
    """Whether the organization has any entry under a pseudonym: a primary-key range probe."""
    found = await connection.scalar(
        select(suppressions.c.target)
        .where(
            suppressions.c.organization_id == organization_id,
            suppressions.c.kind.in_((USER, ADDRESS)),
            suppressions.c.target >= PREFIX,
            suppressions.c.target < _AFTER_PREFIX,
        )
        .limit(1)
    )
    return found is not None


def pseudonyms_of(
    pseudonyms: Pseudonyms, organization_id: str, targets: dict[str, set[str]]
) -> dict[tuple[str, str], str]:
    """(kind, pseudonym) -> the clear target (a user id, or an address_key) it stands for."""
    return {
        (
            kind,
            pseudonyms.user(organization_id, target)
            if kind == USER
            else pseudonyms.address(organization_id, target),
        ): target
        for kind, values in targets.items()
        for target in values
    }


async def restore_erased(
    connection: AsyncConnection,
    organization_id: str,
    contacts: Sequence[Contact],
    pseudonyms: Pseudonyms,
) -> int:
    """Turn the entries standing for these contacts' user ids and addresses back into clear
    ones; how many. Nothing (one probe) for an organization that never erased anyone."""
    if not await has_erased(connection, organization_id):
        return 0
    targets = {
        USER: {c.user_id for c in contacts},
        ADDRESS: {address_key(a) for c in contacts for a in (c.email, c.phone) if a},
    }
    clear = pseudonyms_of(pseudonyms, organization_id, targets)
    insert = (postgresql.insert if is_postgres(connection) else sqlite.insert)(suppressions)
    restored = 0
    for kind in (USER, ADDRESS):
        hashed = sorted(p for (k, p) in clear if k == kind)
        for chunk in chunked(hashed):
            where = and_(
                suppressions.c.organization_id == organization_id,
                suppressions.c.kind == kind,
                suppressions.c.target.in_(chunk),
            )
            rows = (await connection.execute(select(suppressions).where(where))).mappings().all()
            if not rows:
                continue
            await connection.execute(
                insert.on_conflict_do_nothing(),
                [{**row, "target": clear[kind, row["target"]]} for row in rows],
            )
            restored += int((await connection.execute(delete(suppressions).where(where))).rowcount)
    return restored
