"""The README's quick start and recipes, taken from README.md itself and run with bash, so the
README cannot rot (issue #11: a first campaign delivered within two minutes of `make run`).

The server is started as `make run` starts it (`campaign-service serve` at the repository root,
the caller's CAMPAIGN_* settings dropped), on a free port and in a fresh data directory: in the
embedded default, and once more on Postgres. The README's commands honour
CAMPAIGN_GRPC_ADDRESS, which the test sets to the port the server bound. The quick start must end
with delivered messages of both variants, within two minutes of the server's start; every
recipe after it must succeed (bash -e: one failing grpcurl call fails the test).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.server_process import (
    ServerProcess,
    backend_env,
    executable,
    start_listening,
    wait_until_serving,
    with_tools_on_path,
)

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
TWO_MINUTES = 120.0
RECIPIENTS = 20  # the quick start's contacts in the US
BLOCK = re.compile(r"^```sh\n(.*?)^```$", re.DOTALL | re.MULTILINE)


def blocks(section: str) -> str:
    """The ```sh blocks between `<!-- section:begin -->` and `<!-- section:end -->`, in order."""
    text = README.read_text(encoding="utf-8")
    begin, end = f"<!-- {section}:begin -->", f"<!-- {section}:end -->"
    assert (text.count(begin), text.count(end)) == (1, 1), f"README.md needs one {begin} ... {end}"
    found = BLOCK.findall(text[text.index(begin) : text.index(end)])
    assert found, f"no ```sh block between {begin} and {end}"
    return "\n".join(found)


def newcomer_env(data_dir: Path) -> dict[str, str]:
    """A shell like a newcomer's: no CAMPAIGN_* settings, not inside a make, a fresh data dir."""
    drop = ("CAMPAIGN_", "MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES")
    env = {k: v for k, v in os.environ.items() if not k.startswith(drop)}
    env["CAMPAIGN_DATA_DIR"] = str(data_dir)
    env["CAMPAIGN_GRPC_ADDRESS"] = "127.0.0.1:0"  # a free port; the banner says which
    env["CAMPAIGN_HTTP_ADDRESS"] = "127.0.0.1:0"  # (the tracking server's too)
    return env


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def server_env(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[dict[str, str]]:
    kind: str = request.param
    if kind == "sqlite":
        yield newcomer_env(tmp_path / "data")
        return
    with backend_env("postgres", tmp_path / "data") as production:
        settings = {k: v for k, v in production.items() if k.startswith("CAMPAIGN_")}
        yield {**newcomer_env(tmp_path / "data"), **settings}


def serve(env: dict[str, str]) -> ServerProcess:
    """`make run` without make: the same command, from the repository root."""
    process, address, output, reader = start_listening(
        [executable(), "serve"], with_tools_on_path(dict(env)), cwd=ROOT
    )
    if address is None:
        process.kill()
        raise RuntimeError("the server did not start:\n" + "".join(output))
    server = ServerProcess(process, address, env, output, reader)
    wait_until_serving(address)
    return server


def bash(script: str, env: dict[str, str], timeout: float) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=timeout,
    )


def per_variant(stdout: str) -> dict[tuple[str, str], int]:
    """The quick start's last lines: {"variant": ..., "status": ..., "messages": n} each."""
    counts: dict[tuple[str, str], int] = {}
    for line in stdout.splitlines():
        if line.startswith('{"variant"'):
            row = json.loads(line)
            counts[row["variant"], row["status"]] = row["messages"]
    return counts


def test_the_readme_quick_start_delivers_an_ab_campaign_within_two_minutes(
    server_env: dict[str, str], tmp_path: Path
) -> None:
    assert shutil.which("jq"), "the quick start needs jq (apt-get install jq)"
    quick_start, recipes = blocks("quickstart"), blocks("recipes")
    state = tmp_path / "quickstart-state.sh"
    began = time.monotonic()
    server = serve(server_env)
    try:
        # What the quick start left in its shell, for the recipes that continue in it.
        keep = f'\ndeclare -p PATH T A H R C E > "{state}"\n'
        env = {**server_env, "CAMPAIGN_GRPC_ADDRESS": server.address}
        ran = bash(quick_start + keep, env, timeout=TWO_MINUTES)
        took = time.monotonic() - began
        assert ran.returncode == 0, f"quick start failed:\n{ran.stdout}\n{ran.stderr}"
        assert took < TWO_MINUTES, f"the quick start took {took:.0f} s"

        counts = per_variant(ran.stdout)
        assert counts, f"no per-variant counts in the output:\n{ran.stdout}"
        assert {variant for variant, _ in counts} == {"A", "B"}, counts
        assert {status for _, status in counts} == {"MESSAGE_STATUS_DELIVERED"}, counts
        assert sum(counts.values()) == RECIPIENTS
        assert '"trigger": "manual"' in ran.stdout

        recipes_ran = bash(f'source "{state}"\n' + recipes, env, timeout=TWO_MINUTES)
        assert recipes_ran.returncode == 0, (
            f"a recipe failed:\n{recipes_ran.stdout[-4000:]}\n{recipes_ran.stderr}"
        )
        assert '"removed_count": "1"' in recipes_ran.stdout  # the last recipe ran
    finally:
        server.stop()
