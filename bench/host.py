"""How fast this host runs plain Python right now, printed beside every scenario.

The benchmark machine is a virtual machine whose speed drifts with its neighbours' load: the same
code measured a p50 of 95 ms and, an hour later, of seconds, on a host that ran this loop 40 %
slower. Ratios against a baseline measured in the same run absorb part of that, latency near
saturation does not. The figure (the best of three runs of a fixed loop) tells two runs'
hosts apart; it is no part of any scenario's result.
"""

from __future__ import annotations

import time

ITERATIONS = 5_000_000


def python_loop_seconds(repeat: int = 3) -> float:
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        total = 0
        for i in range(ITERATIONS):
            total += i
        best = min(best, time.perf_counter() - started)
    return round(best, 3)
