"""JWT verification and minting. Keys come from settings; the embedded default keeps a random
HS256 secret in the data directory so development tokens survive restarts (production mode has
no such default: see load_keys)."""

from __future__ import annotations

import secrets
import time
from collections import OrderedDict
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import jwt

from domain.kernel.errors import UnauthenticatedError
from domain.kernel.principal import Principal
from server.claims import MAX_TOKEN_LENGTH, principal_from_claims
from server.data_dir import private_data_dir
from server.settings import Settings
from server.startup import StartupError

SECRET_FILE = "jwt-secret"
MIN_SECRET_LENGTH = 32  # characters: an HS256 key of at least 256 bits (RFC 7518 section 3.2)
LEEWAY_SECONDS = 30
CACHE_SIZE = 10_000


@dataclass(frozen=True)
class JwtKeys:
    algorithm: str
    verify_key: str
    signing_key: str | None
    issuer: str | None = None
    audience: str | None = None
    # The embedded default: a secret generated into the data directory, nobody else's. Only
    # then may the server print a development token for everyone who reads its output.
    local_default: bool = False


def _pem(value: str) -> str:
    if value.lstrip().startswith("-----"):
        return value
    try:
        return Path(value).read_text()
    except OSError as exc:
        raise StartupError(f"cannot read the key file {value}: {exc.strerror or exc}") from exc


def load_keys(settings: Settings) -> JwtKeys:
    """RS256 when a public key is configured, else HS256 with the configured secret; with
    neither, the embedded default keeps a local secret, and production mode refuses to run
    (StartupError): replicas must share one secret, and a random one would make `token` mint
    admin tokens for a key nobody configured."""
    keys = partial(JwtKeys, issuer=settings.jwt_issuer, audience=settings.jwt_audience)
    if settings.jwt_public_key:
        private = _pem(settings.jwt_private_key) if settings.jwt_private_key else None
        return keys("RS256", _pem(settings.jwt_public_key), private)
    if settings.jwt_secret is not None:
        secret = settings.jwt_secret.get_secret_value()
        if len(secret) < MIN_SECRET_LENGTH:
            raise StartupError(
                f"CAMPAIGN_JWT_SECRET must be at least {MIN_SECRET_LENGTH} characters "
                "(e.g. `openssl rand -hex 32`)"
            )
        return keys("HS256", secret, secret)
    if settings.is_production:
        raise StartupError(
            f"production mode ({', '.join(settings.shared_settings)} set) needs "
            "CAMPAIGN_JWT_SECRET or CAMPAIGN_JWT_PUBLIC_KEY: every replica must verify tokens "
            "with the same configured key, and no default may mint admin tokens"
        )
    secret = local_secret(settings.data_dir)
    return keys("HS256", secret, secret, local_default=True)


def local_secret(data_dir: Path) -> str:
    path = private_data_dir(data_dir) / SECRET_FILE
    if path.exists():
        path.chmod(0o600)
        return path.read_text().strip()
    secret = secrets.token_urlsafe(48)
    path.touch(mode=0o600)
    path.write_text(secret)
    return secret


class TokenVerifier:
    """Verifies bearer tokens, remembering recent good ones: a client sends the same token on
    every call, and a signature check costs more than the rest of a read RPC's auth."""

    def __init__(self, keys: JwtKeys, *, cache_size: int = CACHE_SIZE) -> None:
        self._keys = keys
        self._cache: OrderedDict[str, tuple[Principal, float]] = OrderedDict()
        self._cache_size = cache_size

    def verify(self, token: str) -> Principal:
        if len(token) > MAX_TOKEN_LENGTH:
            # Before the cache and the signature check: neither should hold or hash megabytes.
            raise UnauthenticatedError(f"invalid token: longer than {MAX_TOKEN_LENGTH} characters")
        cached = self._cache.get(token)
        if cached is not None and time.time() < cached[1] + LEEWAY_SECONDS:
            self._cache.move_to_end(token)
            return cached[0]
        principal, expires = self._decode(token)
        self._cache[token] = (principal, expires)
        if len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)
        return principal

    def _decode(self, token: str) -> tuple[Principal, float]:
        try:
            claims = jwt.decode(
                token,
                self._keys.verify_key,
                algorithms=[self._keys.algorithm],
                issuer=self._keys.issuer,
                audience=self._keys.audience,
                leeway=LEEWAY_SECONDS,
                options={"require": ["exp", "sub", "org_id"], "verify_sub": True},
            )
        except jwt.ExpiredSignatureError as exc:
            raise UnauthenticatedError("the token has expired") from exc
        except jwt.InvalidTokenError as exc:
            raise UnauthenticatedError(f"invalid token: {exc}") from exc
        principal = principal_from_claims(claims)
        return principal, float(claims["exp"])


def issue_token(
    keys: JwtKeys, *, organization_id: str, subject: str, roles: list[str], ttl_seconds: int
) -> str:
    if keys.signing_key is None:
        raise ValueError("RS256 needs CAMPAIGN_JWT_PRIVATE_KEY to issue tokens")
    now = int(time.time())
    claims: dict[str, object] = {
        "sub": subject,
        "org_id": organization_id,
        "roles": roles,
        "iat": now,
        "exp": now + ttl_seconds,
    }
    if keys.issuer:
        claims["iss"] = keys.issuer
    if keys.audience:
        claims["aud"] = keys.audience
    return jwt.encode(claims, keys.signing_key, algorithm=keys.algorithm)
