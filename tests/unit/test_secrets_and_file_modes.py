"""Secrets at start-up (server.tokens, server.page_tokens, server.cli.banner) and the modes of
the files holding them and the embedded database (server.data_dir, adapters.sql.engine)."""

from __future__ import annotations

import os
import sqlite3
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from adapters.sql.engine import owner_only_database
from server.cli import banner
from server.data_dir import private_data_dir
from server.page_tokens import page_token_sealer
from server.settings import Settings
from server.startup import StartupError
from server.tokens import SECRET_FILE, load_keys

SECRET = "configured-secret-" + "q" * 32
SHARED = {
    "database_url": "postgresql+asyncpg://postgres@127.0.0.1:5432/x",
    "nats_url": "nats://127.0.0.1:4222",
    "redis_url": "redis://127.0.0.1:6379",
    "data_service_url": "http://127.0.0.1:8080",
}


@pytest.fixture(autouse=True)
def no_campaign_environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in list(os.environ):
        if name.startswith("CAMPAIGN_"):
            monkeypatch.delenv(name)
    return


def settings(data_dir: Path, **values: Any) -> Settings:
    return Settings(_env_file=None, data_dir=data_dir, **values)  # type: ignore[call-arg]


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.parametrize(("name", "url"), SHARED.items())
def test_production_mode_without_a_secret_refuses_to_load_keys(
    tmp_path: Path, name: str, url: str
) -> None:
    with pytest.raises(StartupError, match="CAMPAIGN_JWT_SECRET") as caught:
        load_keys(settings(tmp_path, **{name: url}))

    assert f"CAMPAIGN_{name.upper()}" in str(caught.value)
    assert not (tmp_path / SECRET_FILE).exists()  # no random secret was made


def test_a_short_configured_secret_is_refused(tmp_path: Path) -> None:
    with pytest.raises(StartupError, match="at least 32"):
        load_keys(settings(tmp_path, jwt_secret="too-short"))


def test_only_the_embedded_default_prints_a_development_token(tmp_path: Path) -> None:
    embedded = banner(settings(tmp_path / "a"), "127.0.0.1:1")
    configured = banner(settings(tmp_path / "b", jwt_secret=SECRET), "127.0.0.1:1")
    production = banner(settings(tmp_path / "c", jwt_secret=SECRET, **SHARED), "127.0.0.1:1")

    assert "development token" in embedded
    assert "mode: embedded" in embedded
    for text in (configured, production):
        assert "development token" not in text
        assert "Bearer" not in text
        assert "eyJ" not in text
    assert "mode: production" in production


def test_a_verify_only_rs256_setup_in_production_needs_a_page_token_secret(
    tmp_path: Path,
) -> None:
    public = "-----BEGIN PUBLIC KEY-----\nMFkw\n-----END PUBLIC KEY-----\n"
    bare = settings(tmp_path, jwt_public_key=public, **SHARED)

    with pytest.raises(StartupError, match="CAMPAIGN_PAGE_TOKEN_SECRET"):
        page_token_sealer(bare, load_keys(bare))
    with_secret = settings(tmp_path, jwt_public_key=public, page_token_secret=SECRET, **SHARED)
    sealer = page_token_sealer(with_secret, load_keys(with_secret))
    assert sealer.open(sealer.seal("t", organization_id="o", rpc="r"), organization_id="o", rpc="r")


def test_the_local_secret_and_its_directory_are_owner_only(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"

    load_keys(settings(data_dir))

    assert mode(data_dir) == 0o700
    assert mode(data_dir / SECRET_FILE) == 0o600


def test_a_world_readable_data_dir_of_an_older_version_is_tightened(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir(mode=0o755)
    data_dir.chmod(0o755)

    private_data_dir(data_dir)

    assert mode(data_dir) == 0o700


def test_a_new_database_file_is_owner_only(tmp_path: Path) -> None:
    database = tmp_path / "campaign.db"

    owner_only_database(database)

    assert mode(database) == 0o600


def test_an_existing_database_and_its_wal_and_shm_files_are_tightened(tmp_path: Path) -> None:
    database = tmp_path / "campaign.db"
    files = [database, tmp_path / "campaign.db-wal", tmp_path / "campaign.db-shm"]
    for file in files:
        file.write_bytes(b"")
        file.chmod(0o644)

    owner_only_database(database)

    assert {file.name: mode(file) for file in files} == dict.fromkeys(
        (f.name for f in files), 0o600
    )


def test_sqlite_gives_its_wal_and_shm_files_the_databases_owner_only_mode(tmp_path: Path) -> None:
    database = tmp_path / "campaign.db"
    owner_only_database(database)
    connection = sqlite3.connect(database)
    try:
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("CREATE TABLE contacts (email TEXT)")
        connection.commit()
        side = [tmp_path / "campaign.db-wal", tmp_path / "campaign.db-shm"]
        modes = {file.name: mode(file) for file in side}  # while open, both exist
    finally:
        connection.close()

    assert modes == {"campaign.db-wal": 0o600, "campaign.db-shm": 0o600}
