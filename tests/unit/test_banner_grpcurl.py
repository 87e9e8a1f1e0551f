"""The start-up banner's grpcurl command works as pasted (issue #11): `make run` installs grpcurl
into .venv/bin, which is not on a newcomer's PATH, so the banner names that file instead."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from server.cli import grpcurl_command


def test_without_grpcurl_on_path_the_banner_names_the_one_beside_the_interpreter(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PATH", "")
    beside = Path(sys.prefix) / "bin" / "grpcurl"
    assert beside.exists(), "the dev tools install grpcurl into the virtualenv"

    command = grpcurl_command()

    assert command != "grpcurl"
    assert Path(command).resolve() == beside.resolve()


def test_with_grpcurl_on_path_the_banner_says_grpcurl(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(Path(sys.prefix) / "bin") + os.pathsep + os.environ["PATH"])

    assert grpcurl_command() == "grpcurl"
