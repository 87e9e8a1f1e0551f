"""The SQL of audience resolution: membership, suppression and reach as predicates on contacts.

A member is dropped when suppressed on every channel (an entry for all channels, or one entry
per channel), and otherwise carries a flag per channel. Suppression checks are uncorrelated
`IN (SELECT target ...)` tests: Postgres runs each as a hashed subplan and SQLite as an
ephemeral index, both built once per statement, so a million-contact scan pays a few hash
probes per contact (the first channel's, for the many nobody suppressed) instead of correlated
index lookups per contact, channel and entry kind.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import (
    ColumnElement,
    DateTime,
    Select,
    Text,
    and_,
    any_,
    bindparam,
    case,
    cast,
    false,
    func,
    not_,
    or_,
    select,
    true,
    type_coerce,
)
from sqlalchemy.dialects.postgresql import ARRAY

from adapters.sql.audience.conditions import Clause, conditions_clause, negatable
from adapters.sql.audience.tables import ADDRESS, ALL_CHANNELS, USER, contacts, suppressions
from adapters.sql.engine import FOLD_ADDRESS
from adapters.sql.schema import UtcDateTime
from domain.audience.model import SegmentType
from domain.audience.segments import ResolvedAudience
from domain.kernel.channels import Channel

Resolved = Sequence[ResolvedAudience]

# The channels that send to a contact's email address and to their phone number.
_EMAIL_CHANNELS = (Channel.EMAIL,)
_PHONE_CHANNELS = (Channel.SMS, Channel.WHATSAPP)


def audience_clauses(audiences: Resolved, dialect: str) -> tuple[list[Clause], Clause]:
    """Each audience's own membership, and the campaign's: every include and no exclude.

    No include audience means no members: an empty intersection, not everyone.
    """
    own = [conditions_clause(conditions, dialect) for _, conditions in audiences]
    kinds = [kind for kind, _ in audiences]
    includes = [c for kind, c in zip(kinds, own, strict=True) if kind is SegmentType.INCLUDE]
    excludes = [c for kind, c in zip(kinds, own, strict=True) if kind is SegmentType.EXCLUDE]
    if not includes:
        return own, false()
    members = and_(*includes)
    if excludes:
        members = and_(members, not_(negatable(or_(*excludes))))
    return own, members


def folded(column: ColumnElement[str], dialect: str) -> ColumnElement[str]:
    """domain.audience.model.address_key in SQL (stored entries are folded already): Postgres's
    lower() folds ASCII only under the C collation; SQLite connections have the function."""
    if dialect == "postgresql":
        return func.lower(column.collate("C"))
    return getattr(func, FOLD_ADDRESS)(column)  # type: ignore[no-any-return]


def suppressed_on(organization_id: str, channel: Channel, dialect: str) -> Clause:
    """Some entry covers the contact on `channel`: an entry of their user_id for this channel or
    all; of their email (compared folded) or phone for every channel, or for this channel if it
    sends there."""

    def targets(kind: str, channels: Sequence[str]) -> Select[str]:
        return select(suppressions.c.target).where(
            suppressions.c.organization_id == organization_id,
            suppressions.c.kind == kind,
            suppressions.c.channel.in_(channels),
        )

    email = [ALL_CHANNELS, *([channel.value] if channel in _EMAIL_CHANNELS else [])]
    phone = [ALL_CHANNELS, *([channel.value] if channel in _PHONE_CHANNELS else [])]
    return or_(
        contacts.c.user_id.in_(targets(USER, [ALL_CHANNELS, channel.value])),
        and_(
            contacts.c.email != "",
            folded(contacts.c.email, dialect).in_(targets(ADDRESS, email)),
        ),
        and_(contacts.c.phone != "", contacts.c.phone.in_(targets(ADDRESS, phone))),
    )


def reachable(channel: Channel) -> Clause:
    """domain.audience.contacts.reachable in SQL: consent and a usable address."""
    c = contacts.c
    if channel is Channel.EMAIL:
        return and_(c.email_opted_in.is_(True), c.email != "")
    if channel is Channel.SMS:
        return and_(c.sms_opted_in.is_(True), c.phone != "")
    if channel is Channel.WHATSAPP:
        return and_(c.whatsapp_opted_in.is_(True), c.whatsapp_verified.is_(True), c.phone != "")
    if channel is Channel.IN_APP:
        return c.in_app_opted_in.is_(True)
    return true()


def recipients_statement(
    organization_id: str, audiences: Resolved, dialect: str, batch_size: int
) -> Select[Any]:
    """One keyset page of members not suppressed on every channel, with a flag per channel.

    Execute with {"after": the last user_id of the previous page, or ""}. The `attributes`
    column comes as JSON text, for the caller to decode: the driver's json.loads of every
    contact's document was one of the larger costs of a run (see audience_source).
    """
    _, members = audience_clauses(audiences, dialect)
    flags = {channel: suppressed_on(organization_id, channel, dialect) for channel in Channel}
    columns = [
        cast(c, Text).label(c.name)
        if c is contacts.c.attributes
        # asyncpg's aware UTC datetimes are what UtcDateTime makes of them: skip its Python call
        else type_coerce(c, DateTime(timezone=True)).label(c.name)
        if dialect == "postgresql" and isinstance(c.type, UtcDateTime)
        else c
        for c in contacts.columns
    ]
    return (
        select(*columns, *(flag.label(f"suppressed_{c.value}") for c, flag in flags.items()))
        .where(
            contacts.c.organization_id == organization_id,
            contacts.c.user_id > bindparam("after"),
            members,
            not_(and_(*flags.values())),
        )
        .order_by(contacts.c.user_id)
        .limit(batch_size)
    )


def member_statement(organization_id: str, audiences: Resolved, dialect: str) -> Select[Any]:
    """The rows of the members among some users, with a flag per channel; suppressed
    everywhere included (the caller tells that apart). Execute with {"user_ids": [...]}: primary
    key lookups, whatever the audience's size."""
    _, members = audience_clauses(audiences, dialect)
    flags = {channel: suppressed_on(organization_id, channel, dialect) for channel in Channel}
    columns = [
        cast(c, Text).label(c.name) if c is contacts.c.attributes else c for c in contacts.columns
    ]
    # On Postgres the users as one array parameter: one statement text whatever their number
    # (an expanded IN was rendered on every call and prepared again for every count of users;
    # the trigger intake asks this per batch of events, docs/performance.md).
    users = (
        contacts.c.user_id == any_(cast(bindparam("user_ids", type_=ARRAY(Text())), ARRAY(Text())))
        if dialect == "postgresql"
        else contacts.c.user_id.in_(bindparam("user_ids", expanding=True))
    )
    return select(
        *columns, *(flag.label(f"suppressed_{c.value}") for c, flag in flags.items())
    ).where(contacts.c.organization_id == organization_id, users, members)


def counts_statement(
    organization_id: str, audiences: Resolved, dialect: str
) -> Select[*tuple[int, ...]]:
    """The whole funnel in one scan of the organization's contacts.

    Columns: one per audience (its own size), after_exclusions, after_suppression, then one per
    Channel in declaration order (members reachable there and not suppressed there).
    """
    own, members = audience_clauses(audiences, dialect)
    flags = {channel: suppressed_on(organization_id, channel, dialect) for channel in Channel}
    columns: list[ColumnElement[int]] = [
        *(_count_if(clause) for clause in own),
        _count_if(members),
        _count_if(and_(members, not_(and_(*flags.values())))),
        *(_count_if(and_(members, reachable(c), not_(flag))) for c, flag in flags.items()),
    ]
    return select(*columns).where(contacts.c.organization_id == organization_id)


def _count_if(clause: Clause) -> ColumnElement[int]:
    # SUM(CASE ...), not COUNT(*) FILTER: a NULL predicate (a missing attribute) counts as no
    # match either way, and a constant false() needs no special casing in a CASE.
    return func.coalesce(func.sum(case((clause, 1), else_=0)), 0)
