"""Waiting for a condition instead of sleeping a fixed time."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import pytest


async def until(condition: Callable[[], bool], *, within: float = 5.0, what: str = "") -> None:
    """Return once `condition()` holds; fail the test after `within` seconds."""
    deadline = time.monotonic() + within
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {within} s waiting for {what or condition}")
        await asyncio.sleep(0.01)
