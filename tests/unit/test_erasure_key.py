"""The key of the erasure's pseudonyms: which secret it comes from, and production's demand."""

from __future__ import annotations

from pathlib import Path

import pytest

from server.pseudonym_key import erasure_pseudonyms
from server.startup import StartupError
from tests.unit.test_secrets_and_file_modes import SECRET, SHARED, settings


def test_the_erasure_secret_wins_and_the_same_secret_gives_the_same_pseudonyms(tmp_path: Path):
    own = erasure_pseudonyms(settings(tmp_path, erasure_secret=SECRET, jwt_secret="j" * 40))
    again = erasure_pseudonyms(settings(tmp_path, erasure_secret=SECRET))
    from_jwt = erasure_pseudonyms(settings(tmp_path, jwt_secret="j" * 40))
    assert own.user("o", "u") == again.user("o", "u")
    assert own.user("o", "u") != from_jwt.user("o", "u")


def test_embedded_uses_the_local_secret_and_keeps_it(tmp_path: Path):
    first = erasure_pseudonyms(settings(tmp_path / "data"))
    assert first.user("o", "u") == erasure_pseudonyms(settings(tmp_path / "data")).user("o", "u")


def test_production_without_any_shared_secret_refuses_to_start(tmp_path: Path):
    public = "-----BEGIN PUBLIC KEY-----\nMFkw\n-----END PUBLIC KEY-----\n"
    with pytest.raises(StartupError, match="CAMPAIGN_ERASURE_SECRET"):
        erasure_pseudonyms(settings(tmp_path, jwt_public_key=public, **SHARED))
    with pytest.raises(StartupError, match="at least"):
        erasure_pseudonyms(settings(tmp_path, erasure_secret="short", **SHARED))
