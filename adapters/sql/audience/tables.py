"""Tables of the built-in audience: contacts, saved segments and the suppression list.

They join the shared MetaData (gathered in `adapters.sql.full_schema`) so Alembic's
comparison sees them. Every key starts with organization_id: no statement can reach another
tenant's rows through an index without naming the tenant first.

Suppressions keep their own columns instead of pointing at contacts: an unsubscribe must outlive
the contact's erasure (GDPR) and may name an address no contact has yet. `channel` is text with
ALL_CHANNELS ('*') for "every channel" rather than NULL, because a primary key column cannot be
NULL and '*' reads as the wildcard it is. The primary key (organization_id, kind, target,
channel) is also the lookup index: "entries of this user" and "entries of this address" are both
prefix seeks on (organization_id, kind, target), so no second index is needed.
"""

from __future__ import annotations

from sqlalchemy import Boolean, Column, PrimaryKeyConstraint, Table, Text

from adapters.sql.schema import CodePointText, Document, UtcDateTime, metadata

# suppressions.kind is USER (target: a user_id) or ADDRESS (an email address or E.164 phone).
from domain.audience.model import ADDRESS, ALL_CHANNELS, USER  # noqa: F401  (re-exported)

contacts = Table(
    "contacts",
    metadata,
    Column("organization_id", Text, nullable=False),
    # Code point order: recipients are streamed by user_id and resume after one, exactly as
    # Python orders the same strings.
    Column("user_id", CodePointText, nullable=False),
    # "" (not NULL) for "none", as in the domain: a condition on email sees the same value here.
    Column("email", Text, nullable=False),
    Column("phone", Text, nullable=False),
    Column("whatsapp_verified", Boolean, nullable=False),
    Column("timezone", Text, nullable=False),
    Column("locale", Text, nullable=False),
    Column("email_opted_in", Boolean, nullable=False),
    Column("sms_opted_in", Boolean, nullable=False),
    Column("whatsapp_opted_in", Boolean, nullable=False),
    Column("in_app_opted_in", Boolean, nullable=False),
    Column("attributes", Document, nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
    PrimaryKeyConstraint("organization_id", "user_id"),
)

# Every attribute name the organization's contacts have had, for BR-CAM-008.2's check of template
# variables at launch: kept by the directory's upsert, so the check never scans the contacts.
# Names are never removed (a name stays valid while any contact may still carry it).
contact_attribute_names = Table(
    "contact_attribute_names",
    metadata,
    Column("organization_id", Text, nullable=False),
    Column("name", Text, nullable=False),
    PrimaryKeyConstraint("organization_id", "name"),
)

segments = Table(
    "segments",
    metadata,
    Column("organization_id", Text, nullable=False),
    Column("segment_id", CodePointText, nullable=False),
    Column("name", Text, nullable=False),
    Column("conditions", Document, nullable=False),  # [{"field", "operator", "value"}, ...]
    Column("created_at", UtcDateTime(), nullable=False),
    PrimaryKeyConstraint("organization_id", "segment_id"),
)

suppressions = Table(
    "suppressions",
    metadata,
    Column("organization_id", Text, nullable=False),
    # All three in code point order: the list RPC pages by this key, like the memory adapter.
    Column("kind", CodePointText, nullable=False),
    Column("target", CodePointText, nullable=False),
    Column("channel", CodePointText, nullable=False),
    Column("reason", Text, nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    PrimaryKeyConstraint("organization_id", "kind", "target", "channel"),
)
