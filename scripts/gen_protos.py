"""Generate Python code and .pyi stubs from protos/ into generated/, or check that it is current.

Kept as a script (not Makefile shell) so `make proto` and the CI staleness check share one recipe.
Besides protoc's message stubs, mypy-protobuf's protoc-gen-mypy_grpc writes typed service stubs
(*_pb2_grpc.pyi), so a client type-checks its calls, and a descriptor set with the protos'
comments (SOURCE_INFO) lets reflection show them (grpcurl describe); the _pb2 modules drop them.
"""

from __future__ import annotations

import argparse
import filecmp
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROTOS = ROOT / "protos"
PACKAGE_MARKERS = ("__init__.py", "py.typed")
# Beside the _pb2 modules: every campaign/v1 file, with its source comments (not the imports).
SOURCE_INFO = Path("campaign") / "v1" / "source_info.binpb"
# The plugin is installed next to this interpreter (mypy-protobuf, pinned in the dev extra).
MYPY_GRPC_PLUGIN = Path(sys.executable).parent / "protoc-gen-mypy_grpc"


def generate(out: Path) -> None:
    sources = sorted(str(p.relative_to(PROTOS)) for p in PROTOS.rglob("*.proto"))
    cmd = [
        sys.executable,
        "-m",
        "grpc_tools.protoc",
        f"-I{PROTOS}",
        f"--python_out={out}",
        f"--pyi_out={out}",
        f"--grpc_python_out={out}",
        f"--plugin=protoc-gen-mypy_grpc={MYPY_GRPC_PLUGIN}",
        "--mypy_grpc_opt=quiet",
        f"--mypy_grpc_out={out}",
        "--include_source_info",
        f"--descriptor_set_out={out / SOURCE_INFO}",
        *sources,
    ]
    (out / SOURCE_INFO).parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(cmd, check=True, cwd=PROTOS)
    for package in {p.parent for p in out.rglob("*_pb2.py")}:
        cursor = package
        while cursor != out:
            for marker in PACKAGE_MARKERS:
                (cursor / marker).touch()
            cursor = cursor.parent


def differences(fresh: Path, committed: Path) -> list[str]:
    fresh_files = {p.relative_to(fresh) for p in fresh.rglob("*") if p.is_file()}
    committed_files = {
        p.relative_to(committed)
        for p in committed.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".md"
    }
    problems = [f"missing: {p}" for p in sorted(fresh_files - committed_files)]
    problems += [f"stale extra file: {p}" for p in sorted(committed_files - fresh_files)]
    problems += [
        f"differs: {p}"
        for p in sorted(fresh_files & committed_files)
        if not filecmp.cmp(fresh / p, committed / p, shallow=False)
    ]
    return problems


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("target", type=Path)
    parser.add_argument("--check", action="store_true", help="fail if target is stale")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        fresh = Path(tmp)
        generate(fresh)
        if args.check:
            problems = differences(fresh, args.target)
            for problem in problems:
                print(f"generated/ is stale ({problem}); run `make proto`", file=sys.stderr)
            return 1 if problems else 0
        shutil.rmtree(args.target / "campaign", ignore_errors=True)
        shutil.copytree(fresh, args.target, dirs_exist_ok=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
