"""`python -m bench [SCENARIO ...]`: run the named scenarios (default: all), print JSON lines.

Each measurement is one JSON object on its own stdout line, also written to
bench/results/latest.jsonl (git-ignored); a short human summary goes to stderr. The exit status is
1 if any scenario failed, 2 for a usage error.
"""

from __future__ import annotations

import json
import math
import signal
import sys
import time
import traceback
from typing import Any, TextIO

from bench import RESULTS_DIR
from bench.host import ITERATIONS, python_loop_seconds
from bench.loadgen import LoadSettings
from bench.scenarios import SCENARIOS, load

USAGE = "usage: python -m bench [SCENARIO ...]"


class Recorder:
    """Prints each measurement as it arrives and appends it to the results file."""

    def __init__(self, results: TextIO) -> None:
        self.results = results
        self.lines: list[dict[str, Any]] = []

    def __call__(self, line: dict[str, Any]) -> None:
        text = json.dumps(line)
        print(text, flush=True)
        self.results.write(text + "\n")
        self.results.flush()
        self.lines.append(line)


def summary(lines: list[dict[str, Any]]) -> list[str]:
    rows = []
    for line in lines:
        ratio = line.get("ratio")
        parts = [
            f"{line['scenario']:<6} {line['metric']:<26} {line['value']:>9.1f}/s",
            f"{ratio:5.2f}x baseline" if isinstance(ratio, float | int) else "",
            f"p50 {_fmt(line.get('p50_ms'))} ms  p99 {_fmt(line.get('p99_ms'))} ms",
            f"errors {line.get('errors', 0)}",
        ]
        cpu = line.get("server_cpu_us_per_call")
        if isinstance(cpu, float | int):
            parts.append(f"cpu {cpu:.0f} us/call")
        if "meets_goal" in line:
            goal = f">= {line['goal_ratio']}x, p99 < {line['goal_p99_ms']:g} ms"
            parts.append(("meets goal " if line["meets_goal"] else "MISSES goal ") + goal)
        rows.append("  ".join(p for p in parts if p))
    return rows


def _fmt(value: Any) -> str:
    if isinstance(value, float | int) and not math.isnan(value):
        return f"{value:.1f}"
    return "-"


def _exit_on_sigterm(signum: int, _frame: object) -> None:
    # SIGTERM (make, CI timeouts) unwinds like Ctrl-C, so servers stop and the database is dropped.
    raise SystemExit(128 + signum)


def main(argv: list[str]) -> int:
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    if any(arg in ("-h", "--help") for arg in argv):
        print(USAGE + "\nscenarios: " + ", ".join(SCENARIOS))
        return 0
    unknown = [name for name in argv if name not in SCENARIOS]
    if unknown:
        print(
            f"error: unknown scenario {', '.join(map(repr, unknown))}; "
            f"known scenarios: {', '.join(SCENARIOS)}\n{USAGE}",
            file=sys.stderr,
        )
        return 2
    try:
        settings = LoadSettings.from_env()
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    names = argv or list(SCENARIOS)
    failed: list[str] = []
    RESULTS_DIR.mkdir(exist_ok=True)
    with (RESULTS_DIR / "latest.jsonl").open("w") as results:
        record = Recorder(results)
        for name in names:
            started = time.monotonic()
            print(f"[{name}] running ({settings})", file=sys.stderr)
            host = f"a {ITERATIONS:,}-step Python loop takes {python_loop_seconds()} s"
            print(f"[{name}] host speed: {host} (bench/host.py)", file=sys.stderr)
            try:
                load(name).run(record, settings)
            except Exception:
                traceback.print_exc()
                failed.append(name)
            except (KeyboardInterrupt, SystemExit):
                print(f"[{name}] interrupted; servers stopped, database dropped", file=sys.stderr)
                raise
            print(
                f"[{name}] done in {time.monotonic() - started:.0f} s; host speed after: the loop"
                f" takes {python_loop_seconds()} s",
                file=sys.stderr,
            )
    print("\n".join(["", "summary:", *summary(record.lines)]), file=sys.stderr)
    if failed:
        print(f"failed scenarios: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
