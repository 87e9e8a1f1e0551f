"""JWT verification and minting. Keys come from settings; the embedded default keeps a random
HS256 secret in the data directory so development tokens survive restarts."""

from __future__ import annotations

import secrets
import time
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

import jwt

from domain.kernel.errors import UnauthenticatedError
from domain.kernel.principal import Principal, Role
from server.settings import Settings

SECRET_FILE = "jwt-secret"
LEEWAY_SECONDS = 30
CACHE_SIZE = 10_000


@dataclass(frozen=True)
class JwtKeys:
    algorithm: str
    verify_key: str
    signing_key: str | None
    issuer: str | None = None
    audience: str | None = None


def _pem(value: str) -> str:
    return Path(value).read_text() if not value.lstrip().startswith("-----") else value


def load_keys(settings: Settings) -> JwtKeys:
    """RS256 when a public key is configured, else HS256 with the configured or local secret."""
    common = {"issuer": settings.jwt_issuer, "audience": settings.jwt_audience}
    if settings.jwt_public_key:
        private = _pem(settings.jwt_private_key) if settings.jwt_private_key else None
        return JwtKeys("RS256", _pem(settings.jwt_public_key), private, **common)
    if settings.jwt_secret is not None:
        secret = settings.jwt_secret.get_secret_value()
    else:
        secret = _local_secret(settings.data_dir)
    return JwtKeys("HS256", secret, secret, **common)


def _local_secret(data_dir: Path) -> str:
    path = data_dir / SECRET_FILE
    if path.exists():
        return path.read_text().strip()
    data_dir.mkdir(parents=True, exist_ok=True)
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
                options={"require": ["exp", "sub", "org_id"]},
            )
        except jwt.ExpiredSignatureError as exc:
            raise UnauthenticatedError("the token has expired") from exc
        except jwt.InvalidTokenError as exc:
            raise UnauthenticatedError(f"invalid token: {exc}") from exc
        organization_id, subject = str(claims["org_id"]), str(claims["sub"])
        if not organization_id.strip() or not subject.strip():
            # A blank org_id would otherwise become a tenant shared by every such token.
            raise UnauthenticatedError("invalid token: org_id and sub must not be blank")
        roles = claims.get("roles", [])
        if isinstance(roles, str):
            roles = roles.split()
        known = frozenset(Role(r) for r in roles if r in Role._value2member_map_)
        principal = Principal(organization_id=organization_id, subject=subject, roles=known)
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
