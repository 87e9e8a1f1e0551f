"""Contacts, segments and suppressions <-> rows of the audience tables, and the list cursor.

The memory adapter states the same semantics on its own (it is the reference); the contract
suite holds the two to each other.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import RowMapping

from adapters.sql.audience.tables import ALL_CHANNELS, USER
from domain.audience.contacts import Contact
from domain.audience.model import (
    Condition,
    ConditionOperator,
    ConditionValue,
    Segment,
    Suppression,
    SuppressionReason,
)
from domain.kernel.channels import Channel

# The channels that send to each kind of contact address (domain.audience.contacts.address_for).


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


def condition_value(stored: Any) -> ConditionValue:
    """A stored value back as the domain holds it: a JSON list is an in/not_in tuple."""
    return tuple(stored) if isinstance(stored, list) else stored


def segment_from_row(row: RowMapping) -> Segment:
    return Segment(
        segment_id=row["segment_id"],
        name=row["name"],
        conditions=tuple(
            Condition(c["field"], ConditionOperator(c["operator"]), condition_value(c["value"]))
            for c in row["conditions"]
        ),
        created_at=row["created_at"],
    )


def suppression_from_row(row: Mapping[Any, Any]) -> Suppression:
    channel = None if row["channel"] == ALL_CHANNELS else Channel(row["channel"])
    is_user = row["kind"] == USER
    return Suppression(
        user_id=row["target"] if is_user else "",
        address="" if is_user else row["target"],
        channel=channel,
        reason=SuppressionReason(row["reason"]),
        created_at=row["created_at"],
    )
