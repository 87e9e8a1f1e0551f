"""Garbage-collector settings for the duration of a fan-out."""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator


@contextlib.contextmanager
def older_objects_left_alone() -> Iterator[None]:
    """Keep the garbage collector off the objects that existed before the fan-out.

    A fan-out allocates tens of thousands of objects per batch, and every few batches that
    triggers a full collection, which walks the whole heap: the server's modules, caches and
    connections, every time. Frozen, those are skipped until the fan-out ends; the run's own
    objects are collected as usual (docs/performance.md). Only when an object is collected changes:
    garbage cycles among the frozen objects wait for the end of the fan-out.

    The youngest generation is also collected every 50,000 allocations instead of every 700: a
    recipient allocates dozens of objects, almost none in cycles, so the default ran a young
    collection every few recipients for nothing (docs/performance.md).
    """
    gc.freeze()
    thresholds = gc.get_threshold()
    gc.set_threshold(50_000, thresholds[1], thresholds[2])
    try:
        yield
    finally:
        gc.set_threshold(*thresholds)
        gc.unfreeze()
