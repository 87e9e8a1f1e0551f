"""Keyed pseudonyms of erased personal data (GDPR erasure, docs/erasure.md).

After `user.deleted` nothing the service stores may name the user in clear, yet two things must
keep working without the clear value: per-user counting (every message of the user carries the
same pseudonym, so counts and "one message per user" stay right) and suppressions (an unsubscribe
or a bounce must still block the address if it is ever imported again). A keyed hash (HMAC-SHA256)
gives both: equal inputs give equal pseudonyms, and without the key nobody can test a guessed
address or user id against the stored values, which a plain hash would allow.

The organization is part of the input, so one person erased in two organizations gets unrelated
pseudonyms. Addresses are normalized (`address_key`) first, as suppressions compare them.
The key must stay the same for the life of the data: with another key, erased suppressions no
longer match their address.
"""

from __future__ import annotations

import hashlib
import hmac

from domain.audience.model import address_key

PREFIX = "erased:"  # no user id we mint, no email address and no E.164 number starts with it
_DIGEST_CHARS = 32  # 128 bits of the HMAC: collisions are out of reach


class Pseudonyms:
    def __init__(self, key: bytes) -> None:
        if len(key) < 16:
            raise ValueError("a pseudonym key needs at least 16 bytes")
        self._key = key

    def user(self, organization_id: str, user_id: str) -> str:
        """The stand-in for an erased user_id, everywhere it was stored."""
        return self._digest(b"user", organization_id, user_id)

    def address(self, organization_id: str, address: str) -> str:
        """The stand-in for an erased email address or phone number (in suppressions)."""
        return self._digest(b"address", organization_id, address_key(address))

    def text(self, organization_id: str, value: str) -> str:
        """The stand-in for any other erased value that must stay unique (an idempotency key)."""
        return self._digest(b"text", organization_id, value)

    def _digest(self, kind: bytes, organization_id: str, value: str) -> str:
        parts = [kind, organization_id.encode(), value.encode()]
        message = b"".join(len(p).to_bytes(4, "big") + p for p in parts)
        digest = hmac.new(self._key, message, hashlib.sha256).hexdigest()
        return PREFIX + digest[:_DIGEST_CHARS]


def is_pseudonym(value: str) -> bool:
    return value.startswith(PREFIX)
