"""Signed tracking links with itsdangerous (docs/tracking.md).

A token is itsdangerous' URL-safe serialization of a compact JSON list, `[organization,
message_id]` (open, unsubscribe) or `[organization, message_id, link index, url digest]` (click),
followed by its HMAC-SHA1 signature, both base64url. Each purpose signs with its own salt, so a
token of one purpose never verifies as another. Keys rotate: the first key of the list signs,
every key of the list verifies, so a new key is put first and an old one dropped once the
links signed with it may go (its tokens then get 404). Tokens do not expire: a newsletter is
opened and unsubscribed from years after it was sent.

Signing is on a run's hot path (a token per link of every marketing email), so a token is made
with each purpose's signer built once, and its payload is never compressed: itsdangerous would
try zlib on every payload (which it reads either way) and build a new signer per token, most of
a run's CPU once tracking is on. The signers are itsdangerous' own with two costs taken out
(`_KeyedSigner`): each key is derived once, not for every token, and the HMAC is the
standard library's one-shot `hmac.digest`. Reading stays itsdangerous' own.
"""

from __future__ import annotations

import hmac
from collections.abc import Sequence
from typing import Any

import orjson
from itsdangerous import BadData, HMACAlgorithm, Signer, URLSafeSerializer
from itsdangerous.encoding import base64_encode, want_bytes

from domain.execution.tracking import Purpose, TrackedLink

PATHS = {Purpose.OPEN: "o", Purpose.CLICK: "c", Purpose.UNSUBSCRIBE: "u"}
MAX_TOKEN_LENGTH = 1_024  # characters; ours are about 120
MAX_ID_LENGTH = 128  # an organization or message id, as everywhere
SALT_PREFIX = "campaign-service tracking "


class SignedTrackingLinks:
    def __init__(self, keys: Sequence[bytes], base_url: str, *, unsubscribe_mailto: str = ""):
        if not keys:
            raise ValueError("at least one tracking key is needed")
        self._keys = tuple(keys)
        self._base = base_url.rstrip("/")
        self._mailto = unsubscribe_mailto
        # itsdangerous signs with the last key of the list and verifies with all of them.
        newest_last = list(reversed(keys))
        self._serializers = {
            purpose: URLSafeSerializer(
                newest_last, salt=SALT_PREFIX + purpose.value, signer=_KeyedSigner
            )
            for purpose in Purpose
        }
        self._signers = {
            purpose: serializer.make_signer() for purpose, serializer in self._serializers.items()
        }

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickled as its settings: a planning process (adapters.runtime.planning_process)
        signs with a copy of its own."""
        return (_signed_links, (self._keys, self._base, self._mailto))

    @property
    def unsubscribe_mailto(self) -> str:
        return self._mailto

    def token(self, purpose: Purpose, link: TrackedLink) -> str:
        fields: list[Any] = [link.organization_id, link.message_id]
        if purpose is Purpose.CLICK:
            fields += [link.index, link.digest]
        # What URLSafeSerializer.dumps makes of a payload it does not compress: base64url of the
        # compact JSON, signed (orjson's output is json.dumps' with compact separators).
        return self._signers[purpose].sign(base64_encode(orjson.dumps(fields))).decode()

    def url(self, purpose: Purpose, link: TrackedLink) -> str:
        return f"{self._base}/{PATHS[purpose]}/{self.token(purpose, link)}"

    def read(self, purpose: Purpose, token: str) -> TrackedLink | None:
        if not token or len(token) > MAX_TOKEN_LENGTH:
            return None
        try:
            fields = self._serializers[purpose].loads(token)
        except (BadData, ValueError, UnicodeDecodeError):
            return None
        return _link(purpose, fields)


class _OneShotHmac(HMACAlgorithm):
    """HMACAlgorithm through OpenSSL's one-shot `hmac.digest`, by the hash's name (itsdangerous
    passes a Python function making the hash, which `hmac.digest` computes in Python, twice
    slower): the same MAC, without building an hmac object."""

    def __init__(self, digest_method: Any = None) -> None:
        super().__init__(digest_method)
        self._name: str = self.digest_method().name

    def get_signature(self, key: bytes, value: bytes) -> bytes:
        return hmac.digest(key, value, self._name)


class _KeyedSigner(Signer):
    """itsdangerous' Signer, each key's derivation (a hash of the salt and the key, redone for
    every signature upstream) kept per key: the same signatures, a third of the work."""

    def __init__(self, secret_key: Any, **kwargs: Any) -> None:
        super().__init__(secret_key, **kwargs)
        if type(self.algorithm) is HMACAlgorithm:
            self.algorithm = _OneShotHmac(self.digest_method)
        self._derived: dict[bytes, bytes] = {}

    def derive_key(self, secret_key: str | bytes | None = None) -> bytes:
        key = self.secret_keys[-1] if secret_key is None else want_bytes(secret_key)
        derived = self._derived.get(key)
        if derived is None:
            derived = self._derived[key] = super().derive_key(key)
        return derived


def _signed_links(keys: Sequence[bytes], base_url: str, mailto: str) -> SignedTrackingLinks:
    return SignedTrackingLinks(keys, base_url, unsubscribe_mailto=mailto)


def _link(purpose: Purpose, fields: object) -> TrackedLink | None:
    """The link a verified payload describes, if it has the purpose's shape (a payload we signed
    always has; anything else is refused rather than trusted)."""
    size = 4 if purpose is Purpose.CLICK else 2
    if not isinstance(fields, list) or len(fields) != size:
        return None
    organization_id, message_id = fields[0], fields[1]
    if not all(_id(value) for value in (organization_id, message_id)):
        return None
    if purpose is not Purpose.CLICK:
        return TrackedLink(organization_id, message_id)
    index, digest = fields[2], fields[3]
    if type(index) is not int or index < 0 or not isinstance(digest, str):
        return None
    return TrackedLink(organization_id, message_id, index, digest)


def _id(value: object) -> bool:
    return isinstance(value, str) and 0 < len(value) <= MAX_ID_LENGTH
