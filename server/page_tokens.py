"""Page tokens as clients see them: sealed, so they are opaque and bound to whom they were cut for.

The domain's codec (domain.kernel.paging) writes a token holding the keyset position of a page,
readable by anyone who decodes it (a suppression list's position is an email address). At the
gRPC edge every List RPC seals it with AES-GCM before it leaves and opens it when it comes back:

- opaque: the position is encrypted; a client sees random bytes;
- tamper-proof: any altered byte fails the authentication tag;
- bound: the caller's organization and the RPC are the associated data, so a token replayed by
  another organization, or on another List RPC, does not open (the codec's own digest still
  binds it to the query's filters and order).

Each failure is InvalidArgumentError on `page_token`, like any other token that is not ours.
The key is derived (HKDF-SHA256, its own `info` label) from the service's secret, so replicas
sharing the secret share page tokens, and a token outlives a restart; rotating the secret makes
outstanding tokens invalid, which costs a client one restart of its listing.
"""

from __future__ import annotations

import base64
import binascii
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from domain.kernel.errors import FieldViolation, InvalidArgumentError
from server.settings import Settings
from server.startup import StartupError
from server.tokens import MIN_SECRET_LENGTH, JwtKeys, local_secret

KEY_INFO = b"campaign-service page tokens v1"
VERSION = b"\x01"
NONCE_BYTES = 12
MAX_PAGE_TOKEN_LENGTH = 2_048  # characters of a sealed token; ours are a few hundred
_NOT_OURS = "not a page token of this query"


def derive_key(secret: bytes) -> bytes:
    """A 256-bit AES key for page tokens only, independent of any other use of `secret`."""
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=KEY_INFO).derive(secret)


class PageTokenSealer:
    def __init__(self, key: bytes) -> None:
        self._aead = AESGCM(key)

    def seal(self, token: str, *, organization_id: str, rpc: str) -> str:
        """The client's form of the codec's `token` ("" stays "": no next page)."""
        if not token:
            return ""
        nonce = os.urandom(NONCE_BYTES)
        sealed = self._aead.encrypt(nonce, token.encode(), _bound_to(organization_id, rpc))
        return base64.urlsafe_b64encode(VERSION + nonce + sealed).decode().rstrip("=")

    def open(self, token: str, *, organization_id: str, rpc: str) -> str:
        """The codec's token inside a client's `token` ("" stays "": the first page)."""
        if not token:
            return ""
        bad = InvalidArgumentError([FieldViolation("page_token", _NOT_OURS)])
        if len(token) > MAX_PAGE_TOKEN_LENGTH:
            raise bad
        try:
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        except (ValueError, binascii.Error) as exc:
            raise bad from exc
        version, nonce, sealed = raw[:1], raw[1 : 1 + NONCE_BYTES], raw[1 + NONCE_BYTES :]
        # Only the one spelling seal() writes: base64 leaves spare bits in a last character, and a
        # token differing there would otherwise open as the same page.
        canonical = base64.urlsafe_b64encode(raw).decode().rstrip("=") == token
        if version != VERSION or len(nonce) != NONCE_BYTES or not canonical:
            raise bad
        try:
            plain = self._aead.decrypt(nonce, sealed, _bound_to(organization_id, rpc))
            return plain.decode()
        except (InvalidTag, UnicodeDecodeError) as exc:
            raise bad from exc


def _bound_to(organization_id: str, rpc: str) -> bytes:
    """Associated data: both values length-prefixed, so no two pairs give the same bytes."""
    parts = [organization_id.encode(), rpc.encode()]
    return b"".join(len(p).to_bytes(4, "big") + p for p in parts)


def page_token_sealer(settings: Settings, keys: JwtKeys) -> PageTokenSealer:
    """The sealer keyed from CAMPAIGN_PAGE_TOKEN_SECRET if set, else from the JWT secret (HS256)
    or private key (RS256). A verify-only RS256 setup has no secret of its own: production mode
    then needs CAMPAIGN_PAGE_TOKEN_SECRET (StartupError), the embedded one uses its local secret."""
    if settings.page_token_secret is not None:
        secret = settings.page_token_secret.get_secret_value()
        if len(secret) < MIN_SECRET_LENGTH:
            raise StartupError(
                f"CAMPAIGN_PAGE_TOKEN_SECRET must be at least {MIN_SECRET_LENGTH} characters"
            )
    elif keys.signing_key is not None:
        secret = keys.signing_key
    elif settings.is_production:
        raise StartupError(
            "CAMPAIGN_JWT_PUBLIC_KEY alone gives no secret to seal page tokens with: "
            "set CAMPAIGN_PAGE_TOKEN_SECRET (or CAMPAIGN_JWT_PRIVATE_KEY)"
        )
    else:
        secret = local_secret(settings.data_dir)
    return PageTokenSealer(derive_key(secret.encode()))
