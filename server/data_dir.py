"""The data directory holds the embedded database (contacts: personal data) and the local JWT
secret: only the service's own user may list or read it, whatever the umask."""

from __future__ import annotations

from pathlib import Path

from server.startup import StartupError

DIRECTORY_MODE = 0o700


def private_data_dir(path: Path) -> Path:
    """`path`, created if missing, and owner-only (0700) also when an older version made it
    world-readable."""
    try:
        path.mkdir(parents=True, exist_ok=True, mode=DIRECTORY_MODE)
        path.chmod(DIRECTORY_MODE)
    except OSError as exc:
        raise StartupError(
            f"cannot use the data directory {path} (CAMPAIGN_DATA_DIR): {exc.strerror or exc}"
        ) from exc
    return path
