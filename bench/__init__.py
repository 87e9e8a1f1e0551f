"""Benchmarks: `python -m bench [SCENARIO]` prints one JSON object per measurement.

Every scenario measures a baseline in the same run and reports `ratio = value / baseline`, because
absolute numbers on a shared 2-core machine are noise. Scenarios are modules registered in
`bench.scenarios.SCENARIOS`.

Importing this package puts the repository root and `generated/` on sys.path, so `python -m bench`
and the helper processes it starts (`python -m bench.loadgen`, `python -m bench.baseline_server`)
work from a fresh checkout without an installed package.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GENERATED = ROOT / "generated"
RESULTS_DIR = Path(__file__).resolve().parent / "results"

for _path in (str(GENERATED), str(ROOT)):
    if _path not in sys.path:
        sys.path.insert(0, _path)
