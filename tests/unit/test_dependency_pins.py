"""The version rules of pyproject.toml, clients/python/pyproject.toml and the lockfiles.

requirements.lock (runtime + dev: CI and `make venv`) and requirements-runtime.lock (the image)
are written by `make lock`; these tests fail when a dependency changed in pyproject.toml without
re-locking, when the two locks pin different versions, and when the client distribution's
grpcio/protobuf bounds drift from the server's (docs/client-package.md).
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[2]
LOCK = ROOT / "requirements.lock"
RUNTIME_LOCK = ROOT / "requirements-runtime.lock"
CLIENT_PYPROJECT = ROOT / "clients" / "python" / "pyproject.toml"
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+)(?:\s*;\s*(.+))?$")
GRPCIO_FAMILY = ("grpcio-status", "grpcio-health-checking", "grpcio-reflection")


def project(path: Path) -> dict[str, Any]:
    document: dict[str, Any] = tomllib.loads(path.read_text(encoding="utf-8"))["project"]
    return document


def requirements(specs: list[str]) -> dict[str, Requirement]:
    parsed = (Requirement(spec) for spec in specs)
    return {canonicalize_name(r.name): r for r in parsed}


def pins(lock: Path) -> dict[str, list[tuple[Version, str]]]:
    """name -> [(version, environment marker)]: a universal lock may pin one name per Python."""
    pinned: dict[str, list[tuple[Version, str]]] = {}
    for line in lock.read_text(encoding="utf-8").splitlines():
        match = PIN.match(line.strip())
        if match:
            name, version, marker = match.groups()
            pinned.setdefault(canonicalize_name(name), []).append((Version(version), marker or ""))
    return pinned


SERVER = project(ROOT / "pyproject.toml")
RUNTIME = requirements(SERVER["dependencies"])
DEV = requirements(SERVER["optional-dependencies"]["dev"])
CLIENT = project(CLIENT_PYPROJECT)


@pytest.mark.parametrize(
    ("lock", "wanted"),
    [(RUNTIME_LOCK, RUNTIME), (LOCK, {**RUNTIME, **DEV})],
    ids=["runtime-lock", "dev-lock"],
)
def test_every_dependency_is_locked_at_a_version_pyproject_allows(
    lock: Path, wanted: dict[str, Requirement]
) -> None:
    locked = pins(lock)
    missing = sorted(name for name in wanted if name not in locked)
    outside = sorted(
        f"{name}=={version}"
        for name, requirement in wanted.items()
        for version, _ in locked.get(name, [])
        if not requirement.specifier.contains(version, prereleases=True)
    )
    assert not missing, f"not in {lock.name} (run `make lock`): {missing}"
    assert not outside, f"{lock.name} pins versions pyproject.toml excludes: {outside}"


def test_the_runtime_lock_pins_the_same_versions_as_the_full_lock() -> None:
    full, runtime = pins(LOCK), pins(RUNTIME_LOCK)
    assert set(runtime) <= set(full), set(runtime) - set(full)
    assert {name: full[name] for name in runtime} == runtime


def test_protobuf_is_capped_below_its_next_major_version() -> None:
    for specs in (RUNTIME, requirements(CLIENT["dependencies"])):
        specifier = specs["protobuf"].specifier
        floor = min(Version(s.version) for s in specifier if s.operator == ">=")
        next_major = Version(f"{floor.major + 1}")
        assert specifier.contains(str(floor))
        assert not specifier.contains(str(next_major)), specifier


@pytest.mark.parametrize("name", GRPCIO_FAMILY)
def test_grpcio_helpers_ask_for_the_same_minimum_as_grpcio(name: str) -> None:
    assert str(RUNTIME[name].specifier) == str(RUNTIME["grpcio"].specifier)


def test_requires_python_has_no_upper_cap() -> None:
    assert "<" not in SERVER["requires-python"]
    assert "<" not in CLIENT["requires-python"]


def test_the_client_distribution_depends_on_grpcio_and_protobuf_only() -> None:
    client = requirements(CLIENT["dependencies"])

    assert set(client) == {"grpcio", "protobuf"}
    for name in client:
        assert client[name].specifier == RUNTIME[name].specifier, name
    assert CLIENT["version"] == SERVER["version"]


def test_generator_pins_are_exact_in_pyproject_and_lock() -> None:
    """grpcio-tools and mypy-protobuf write their versions into generated/ (make proto-check)."""
    locked = pins(LOCK)
    for name in ("grpcio-tools", "mypy-protobuf"):
        (specifier,) = DEV[name].specifier
        assert specifier.operator == "=="
        assert [str(v) for v, _ in locked[name]] == [specifier.version]
