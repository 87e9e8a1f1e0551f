"""Contacts, segments and suppressions <-> rows of the audience tables, and the list cursor.

The memory adapter states the same semantics on its own (it is the reference); the contract
suite holds the two to each other.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import RowMapping

from adapters.sql.audience_tables import ADDRESS, ALL_CHANNELS, USER
from domain.audience import Segment, Suppression, SuppressionReason
from domain.contacts import Contact
from domain.errors import FieldViolation, InvalidArgumentError
from domain.model import Channel, Condition, ConditionOperator

SuppressionKey = tuple[str, str, str]  # (kind, target, channel)

# The channels that send to each kind of contact address (domain.contacts.address_for).
_EMAIL_CHANNELS = frozenset({Channel.EMAIL})
_PHONE_CHANNELS = frozenset({Channel.SMS, Channel.WHATSAPP})
_EVERY_CHANNEL = frozenset(Channel)


def contact_row(organization_id: str, contact: Contact, now: datetime) -> dict[str, Any]:
    """Every column; both timestamps are `now`, an update keeps the stored created_at."""
    return {
        "organization_id": organization_id,
        "user_id": contact.user_id,
        "email": contact.email,
        "phone": contact.phone,
        "whatsapp_verified": contact.whatsapp_verified,
        "timezone": contact.timezone,
        "locale": contact.locale,
        "email_opted_in": contact.email_opted_in,
        "sms_opted_in": contact.sms_opted_in,
        "whatsapp_opted_in": contact.whatsapp_opted_in,
        "in_app_opted_in": contact.in_app_opted_in,
        "attributes": dict(contact.attributes),
        "created_at": now,
        "updated_at": now,
    }


def contact_from_row(row: RowMapping) -> Contact:
    return Contact(
        user_id=row["user_id"],
        email=row["email"],
        phone=row["phone"],
        whatsapp_verified=bool(row["whatsapp_verified"]),
        timezone=row["timezone"],
        locale=row["locale"],
        email_opted_in=bool(row["email_opted_in"]),
        sms_opted_in=bool(row["sms_opted_in"]),
        whatsapp_opted_in=bool(row["whatsapp_opted_in"]),
        in_app_opted_in=bool(row["in_app_opted_in"]),
        attributes=row["attributes"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


def conditions_to_json(conditions: Iterable[Condition]) -> list[dict[str, Any]]:
    return [{"field": c.field, "operator": c.operator.value, "value": c.value} for c in conditions]


def segment_from_row(row: RowMapping) -> Segment:
    return Segment(
        segment_id=row["segment_id"],
        name=row["name"],
        conditions=tuple(
            Condition(c["field"], ConditionOperator(c["operator"]), c["value"])
            for c in row["conditions"]
        ),
        created_at=row["created_at"],
    )


def suppression_key(entry: Suppression) -> SuppressionKey:
    """The primary key of an entry; exactly one of user_id and address names its target."""
    if bool(entry.user_id) == bool(entry.address):
        raise ValueError(f"a suppression names exactly one of user_id and address: {entry!r}")
    kind, target = (USER, entry.user_id) if entry.user_id else (ADDRESS, entry.address)
    return kind, target, entry.channel.value if entry.channel else ALL_CHANNELS


def suppression_from_row(row: RowMapping) -> Suppression:
    channel = None if row["channel"] == ALL_CHANNELS else Channel(row["channel"])
    is_user = row["kind"] == USER
    return Suppression(
        user_id=row["target"] if is_user else "",
        address="" if is_user else row["target"],
        channel=channel,
        reason=SuppressionReason(row["reason"]),
        created_at=row["created_at"],
    )


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
            covered |= _EVERY_CHANNEL if channel == ALL_CHANNELS else applies & {Channel(channel)}
    return None if covered == _EVERY_CHANNEL else frozenset(covered)


def _applies_to(contact: Contact, kind: str, target: str) -> frozenset[Channel]:
    if kind == USER:
        return _EVERY_CHANNEL if target == contact.user_id else frozenset()
    if contact.email and target == contact.email:
        return _EMAIL_CHANNELS
    if contact.phone and target == contact.phone:
        return _PHONE_CHANNELS
    return frozenset()


def encode_cursor(key: SuppressionKey) -> str:
    return base64.urlsafe_b64encode(json.dumps(list(key)).encode()).decode()


def decode_cursor(cursor: str) -> SuppressionKey | None:
    """None for "" (the first page); InvalidArgumentError for a token we did not issue."""
    if not cursor:
        return None
    try:
        kind, target, channel = json.loads(base64.urlsafe_b64decode(cursor.encode()))
    except (ValueError, TypeError, binascii.Error) as exc:
        raise InvalidArgumentError(
            [FieldViolation("page_token", "is not a token returned by a previous page")]
        ) from exc
    return str(kind), str(target), str(channel)
