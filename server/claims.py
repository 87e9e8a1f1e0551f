"""The claims of a verified JWT, read strictly into a Principal.

A signature only proves who issued a token, not that its claims have the shapes we expect: an
issuer's bug (or a lenient one) could send `roles` as an object or `org_id` as a number. Reading
such values loosely is how `{"admin": false}` once granted admin (an object's keys read as
roles) and `org_id: 123` became the tenant "123". So every claim we use must have exactly its
type, within its size limits, or the call is UNAUTHENTICATED: never coerced, never INTERNAL.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from domain.kernel.errors import UnauthenticatedError
from domain.kernel.principal import Principal, Role

MAX_TOKEN_LENGTH = 8_192  # characters of the compact JWT, checked before anything is decoded
MAX_IDENTITY_LENGTH = 256  # characters of `org_id` and of `sub`
MAX_ROLES = 16  # entries of `roles`
MAX_ROLE_LENGTH = 64  # characters of one role name
TIME_CLAIMS = ("exp", "iat", "nbf")  # NumericDate claims (RFC 7519 section 2)


def principal_from_claims(claims: Mapping[str, Any]) -> Principal:
    """The caller the claims name. `org_id` and `sub` must be non-blank strings without control
    characters; `roles`, when present, a list of strings (unknown roles are ignored, so a token
    with none of ours may authenticate but not act); `exp`, `iat` and `nbf` numbers."""
    for name in TIME_CLAIMS:
        if name in claims and not _is_numeric_date(claims[name]):
            raise _invalid(f"{name} must be a number of seconds")
    organization_id = _identity(claims, "org_id")
    subject = _identity(claims, "sub")
    return Principal(organization_id=organization_id, subject=subject, roles=_roles(claims))


def _is_numeric_date(value: object) -> bool:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    return math.isfinite(value)


def _identity(claims: Mapping[str, Any], name: str) -> str:
    value = claims.get(name)
    if not isinstance(value, str):
        raise _invalid(f"{name} must be a string")
    if not value.strip():
        # A blank org_id would otherwise become a tenant shared by every such token.
        raise _invalid(f"{name} must not be blank")
    if len(value) > MAX_IDENTITY_LENGTH:
        raise _invalid(f"{name} must be at most {MAX_IDENTITY_LENGTH} characters")
    if not value.isprintable():
        raise _invalid(f"{name} must not contain control characters")
    return value


def _roles(claims: Mapping[str, Any]) -> frozenset[Role]:
    roles = claims.get("roles", [])
    if not isinstance(roles, list) or not all(isinstance(r, str) for r in roles):
        raise _invalid("roles must be a list of strings")
    if len(roles) > MAX_ROLES:
        raise _invalid(f"roles must have at most {MAX_ROLES} entries")
    if any(len(r) > MAX_ROLE_LENGTH for r in roles):
        raise _invalid(f"a role must be at most {MAX_ROLE_LENGTH} characters")
    return frozenset(Role(r) for r in roles if r in Role._value2member_map_)


def _invalid(detail: str) -> UnauthenticatedError:
    return UnauthenticatedError(f"invalid token: {detail}")
