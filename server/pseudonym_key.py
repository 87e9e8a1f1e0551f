"""The key of the erasure's pseudonyms (domain.audience.pseudonyms, docs/erasure.md).

CAMPAIGN_ERASURE_SECRET if set, else the page-token secret, else the JWT secret, else (embedded
only) the local secret in the data directory. Whatever it is must never change for the life of
the data: erased suppressions are found by recomputing their pseudonym, so another key would
let an erased, unsubscribed address be mailed again after a re-import. Production mode with
only an RS256 public key has no shared secret to derive from and needs CAMPAIGN_ERASURE_SECRET.
"""

from __future__ import annotations

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from domain.audience.pseudonyms import Pseudonyms
from server.settings import Settings
from server.startup import StartupError
from server.tokens import MIN_SECRET_LENGTH, local_secret

KEY_INFO = b"campaign-service erasure pseudonyms v1"


def erasure_pseudonyms(settings: Settings) -> Pseudonyms:
    configured = settings.erasure_secret or settings.page_token_secret or settings.jwt_secret
    if configured is not None:
        secret = configured.get_secret_value()
        if settings.erasure_secret is not None and len(secret) < MIN_SECRET_LENGTH:
            raise StartupError(
                f"CAMPAIGN_ERASURE_SECRET must be at least {MIN_SECRET_LENGTH} characters"
            )
    elif settings.is_production:
        raise StartupError(
            "production mode needs a shared secret for erasure pseudonyms: set "
            "CAMPAIGN_ERASURE_SECRET (or CAMPAIGN_PAGE_TOKEN_SECRET / CAMPAIGN_JWT_SECRET)"
        )
    else:
        secret = local_secret(settings.data_dir)
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=KEY_INFO).derive(
        secret.encode()
    )
    return Pseudonyms(key)
