"""The keys that sign tracking links (adapters/tracking/links.py, docs/tracking.md).

CAMPAIGN_TRACKING_KEYS when set: comma-separated, the first signs and all verify, so a key is
rotated by putting a new one first and dropping the old one later (links signed with a dropped
key get 404). Otherwise one key derived (HKDF-SHA256, its own label) from the page-token or JWT
secret (or the RS256 private key), else, embedded only, from the local secret in the data
directory; replicas sharing the secret share the key and links outlive restarts. Production
mode with nothing to derive from must set CAMPAIGN_TRACKING_KEYS (StartupError).
"""

from __future__ import annotations

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from server.settings import Settings
from server.startup import StartupError
from server.tokens import MIN_SECRET_LENGTH, local_secret

KEY_INFO = b"campaign-service tracking links v1"


def tracking_keys(settings: Settings) -> list[bytes]:
    if settings.tracking_keys is not None:
        keys = [k.strip() for k in settings.tracking_keys.get_secret_value().split(",")]
        keys = [k for k in keys if k]
        if not keys or any(len(k) < MIN_SECRET_LENGTH for k in keys):
            raise StartupError(
                f"CAMPAIGN_TRACKING_KEYS must name keys of at least {MIN_SECRET_LENGTH} "
                "characters each, separated by commas (the first one signs)"
            )
        return [k.encode() for k in keys]
    configured = settings.page_token_secret or settings.jwt_secret
    if configured is not None:
        secret = configured.get_secret_value()
    elif settings.jwt_private_key:
        secret = settings.jwt_private_key
    elif settings.is_production:
        raise StartupError(
            "production mode needs a shared key for tracking links: set CAMPAIGN_TRACKING_KEYS "
            "(or CAMPAIGN_PAGE_TOKEN_SECRET / CAMPAIGN_JWT_SECRET)"
        )
    else:
        secret = local_secret(settings.data_dir)
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=KEY_INFO).derive(
        secret.encode()
    )
    return [key]
