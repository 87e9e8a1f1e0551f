"""Audience definitions beyond the campaign: saved segments, suppressions, resolved recipients
and the pre-launch funnel (BR-CAM-002)."""

from __future__ import annotations

import enum
import string
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from domain.audience.contacts import Contact
from domain.kernel import paging
from domain.kernel.channels import Channel


class SegmentType(enum.StrEnum):
    INCLUDE = "include"
    EXCLUDE = "exclude"


class ConditionOperator(enum.StrEnum):
    EQUALS = "equals"
    NOT_EQUALS = "not_equals"
    CONTAINS = "contains"
    GREATER_THAN = "greater_than"
    LESS_THAN = "less_than"
    NOT_CONTAINS = "not_contains"
    GREATER_THAN_OR_EQUAL = "greater_than_or_equal"
    LESS_THAN_OR_EQUAL = "less_than_or_equal"
    IN = "in"
    NOT_IN = "not_in"
    EXISTS = "exists"
    NOT_EXISTS = "not_exists"


ConditionScalar = str | float | bool
# A scalar for most operators, a tuple of scalars for in/not_in, None for exists/not_exists
# (docs/conditions.md); domain.audience.conditions.check_conditions enforces which.
ConditionValue = ConditionScalar | tuple[ConditionScalar, ...] | None


@dataclass(frozen=True, slots=True)
class Condition:
    """One attribute test; conditions of a trigger or query combine with AND (BR-CAM-007.3)."""

    field: str
    operator: ConditionOperator
    value: ConditionValue


@dataclass(frozen=True, slots=True)
class Audience:
    """A segment reference (resolved by the audience source) or an inline attribute query."""

    audience_id: str
    segment_type: SegmentType
    segment_id: str | None = None
    query: tuple[Condition, ...] = ()
    name: str = ""


class SuppressionReason(enum.StrEnum):
    UNSUBSCRIBED = "unsubscribed"
    BOUNCED = "bounced"
    COMPLAINED = "complained"
    MANUAL = "manual"


@dataclass(frozen=True, slots=True)
class Segment:
    """A saved attribute query of the built-in directory, addressable by `segment_id`."""

    segment_id: str
    name: str
    conditions: tuple[Condition, ...]
    created_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Suppression:
    """Never send to this user or address, on one channel or (channel None) on all of them."""

    user_id: str = ""
    address: str = ""
    channel: Channel | None = None
    reason: SuppressionReason = SuppressionReason.MANUAL
    created_at: datetime | None = None


@dataclass(slots=True)
class Recipient:
    """One audience member as resolved at run time, with the channels suppressed for them.

    Members suppressed on every channel never appear: sources drop them in the query itself.
    A value, not frozen only for speed (one per recipient; see domain.execution.Message).
    """

    contact: Contact
    suppressed_channels: frozenset[Channel] = frozenset()


@dataclass(frozen=True, slots=True)
class AudienceCounts:
    """The funnel before holdout: what EstimateAudience reports and `campaign.started` carries."""

    by_segment: tuple[int, ...]  # one per campaign audience, in order
    after_exclusions: int
    after_suppression: int
    reachable_by_channel: dict[Channel, int] = field(default_factory=dict)


# --- suppression rules, shared by every adapter ------------------------------------------------

SuppressionKey = tuple[str, str, str]  # (kind, target, channel value or ALL_CHANNELS)
USER, ADDRESS, ALL_CHANNELS = "user", "address", "*"
EMAIL_CHANNELS = frozenset({Channel.EMAIL})  # the channels that send to an email address
PHONE_CHANNELS = frozenset({Channel.SMS, Channel.WHATSAPP})  # ... and to a phone number
EVERY_CHANNEL = frozenset(Channel)


_ASCII_LOWER = str.maketrans(string.ascii_uppercase, string.ascii_lowercase)


def address_key(address: str) -> str:
    """How suppressions and contacts' addresses are compared: without regard to ASCII case, so
    an unsubscribe of `Ana@Example.com` covers the contact `ana@example.com`, as mail systems
    treat them alike. ASCII only: the rule SQL's lower() follows in SQLite and under Postgres's
    C collation, so every adapter agrees (phone numbers have no letters to fold)."""
    return address.translate(_ASCII_LOWER)


def suppression_key(entry: Suppression) -> SuppressionKey:
    """The identity of an entry; exactly one of user_id and address names its target, and an
    address is stored as its address_key."""
    if bool(entry.user_id) == bool(entry.address):
        raise ValueError(f"a suppression names exactly one of user_id and address: {entry!r}")
    kind, target = (USER, entry.user_id) if entry.user_id else (ADDRESS, address_key(entry.address))
    return kind, target, entry.channel.value if entry.channel else ALL_CHANNELS


def suppressed_channels(
    contact: Contact, keys: Iterable[SuppressionKey]
) -> frozenset[Channel] | None:
    """The channels `keys` suppress for `contact`; None when that is every channel.

    An entry for every channel covers them all, whatever its target; an entry for one channel
    covers it if its target is the user, or an address that channel sends to (email -> email,
    phone -> sms and whatsapp).
    """
    covered: set[Channel] = set()
    for kind, target, channel in keys:
        applies = _applies_to(contact, kind, target)
        if applies:
            covered |= EVERY_CHANNEL if channel == ALL_CHANNELS else applies & {Channel(channel)}
    return None if covered == EVERY_CHANNEL else frozenset(covered)


# Transactional sends (receipts, password resets) may ignore a marketing unsubscribe, never a
# bounce, a complaint or an operator's entry (a GDPR erasure request, a legal hold).
TRANSACTIONAL_EXEMPT = frozenset({SuppressionReason.UNSUBSCRIBED})
# Which reason a channel covered by several entries reports: the most serious one.
_SEVERITY = {
    SuppressionReason.COMPLAINED: 0,
    SuppressionReason.BOUNCED: 1,
    SuppressionReason.MANUAL: 2,
    SuppressionReason.UNSUBSCRIBED: 3,
}


def suppression_reasons(
    contact: Contact, entries: Iterable[Suppression], *, ignoring: frozenset[SuppressionReason]
) -> dict[Channel, SuppressionReason]:
    """Per channel `entries` suppress for `contact` (by the rule of suppressed_channels), the
    reason, leaving out entries whose reason is in `ignoring`."""
    reasons: dict[Channel, SuppressionReason] = {}
    binding = (e for e in entries if e.reason not in ignoring)
    for entry in sorted(binding, key=lambda e: _SEVERITY[e.reason]):
        kind, target, channel = suppression_key(entry)
        applies = _applies_to(contact, kind, target)
        if not applies:
            continue
        covered = EVERY_CHANNEL if channel == ALL_CHANNELS else applies & {Channel(channel)}
        for covered_channel in covered:
            reasons.setdefault(covered_channel, entry.reason)
    return reasons


def _applies_to(contact: Contact, kind: str, target: str) -> frozenset[Channel]:
    if kind == USER:
        return EVERY_CHANNEL if target == contact.user_id else frozenset()
    if contact.email and target == address_key(contact.email):
        return EMAIL_CHANNELS
    if contact.phone and target == contact.phone:
        return PHONE_CHANNELS
    return frozenset()


def encode_suppression_page_token(
    last: SuppressionKey | None, *, channel: Channel | None, reason: SuppressionReason | None
) -> str:
    """The page token after the entry `last` of a list filtered on `channel` and `reason`."""
    return paging.encode_page_token(last, _suppression_query(channel, reason))


def decode_suppression_page_token(
    token: str, *, channel: Channel | None, reason: SuppressionReason | None
) -> SuppressionKey | None:
    """None for "" (the first page); InvalidArgumentError for a token not issued for a list
    with these filters."""
    position = paging.decode_page_token(token, _suppression_query(channel, reason), size=3)
    if position is None:
        return None
    kind, target, entry_channel = position
    return kind, target, entry_channel


def _suppression_query(channel: Channel | None, reason: SuppressionReason | None) -> object:
    return ("suppressions", channel, reason)
