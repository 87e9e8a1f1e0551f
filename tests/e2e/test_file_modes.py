"""The embedded server's data directory and database files are its owner's only: contacts are
personal data. Checked on a running server, after writes, so SQLite's -wal and -shm exist."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from tests.e2e.helpers import CampaignApi, draft_request
from tests.support.server_process import ServerProcess, server_env, start_server

pytestmark = pytest.mark.e2e


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


# Only the embedded server keeps a database in its data directory: run on that backend alone.
@pytest.mark.parametrize("server", ["sqlite"], indirect=True)
def test_a_running_embedded_server_keeps_its_files_owner_only(
    server: ServerProcess, api: CampaignApi
):
    api.create(draft_request("Written to the embedded database"))
    data_dir = Path(server.env["CAMPAIGN_DATA_DIR"])
    database = data_dir / "campaign.db"
    assert "CAMPAIGN_DATABASE_URL" not in server.env

    # -wal and -shm exist only while a connection is open; whichever exist must be 0600 too
    # (tests/unit/test_secrets_and_file_modes.py holds one open to check them every time).
    files = [database, *(data_dir / f"campaign.db{s}" for s in ("-wal", "-shm"))]
    present = [f for f in files if f.exists()]
    assert database in present
    assert mode(data_dir) == 0o700
    assert {f.name: mode(f) for f in present} == dict.fromkeys((f.name for f in present), 0o600)


def test_an_older_world_readable_data_dir_is_tightened_at_start(tmp_path: Path):
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    old = [data_dir / name for name in ("campaign.db", "campaign.db-wal", "jwt-secret")]
    for file in old:
        file.write_bytes(b"" if file.name != "jwt-secret" else b"s" * 64)
        file.chmod(0o644)
    data_dir.chmod(0o755)
    env = server_env(data_dir)
    del env["CAMPAIGN_JWT_SECRET"]  # the local secret file is used, and must be tightened too

    server = start_server(env)
    server.stop()

    assert mode(data_dir) == 0o700
    assert {f.name: mode(f) for f in old if f.exists()} == {
        f.name: 0o600 for f in old if f.exists()
    }
    assert (data_dir / "campaign.db").exists()
