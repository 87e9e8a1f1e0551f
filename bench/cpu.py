"""CPU time of a benchmarked server, read from /proc (Linux)."""

from __future__ import annotations

import os
from pathlib import Path


def tree_cpu_seconds(pid: int) -> float:
    """User + system CPU the process and its living descendants have used so far (utime + stime
    of /proc/PID/stat), so a supervisor's worker processes count with it. A descendant that
    exits in between takes its share along: compare two readings of a steady process tree."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    pending = [pid]
    while pending:
        current = pending.pop()
        try:
            stat = Path(f"/proc/{current}/stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()  # after "pid (comm)": field 3 is fields[0]
        total += (int(fields[11]) + int(fields[12])) / ticks  # utime, stime: fields 14 and 15
        try:
            for task in Path(f"/proc/{current}/task").iterdir():
                pending.extend(int(c) for c in (task / "children").read_text().split())
        except OSError:
            pass
    return total
