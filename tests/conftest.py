"""Suite-wide collection order."""

from __future__ import annotations

import pytest


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The fault tests first: they are the slowest files (a kill -9 run, two executors, a broker
    outage), and with one file per test process (`make test`) a slow file collected last ends
    the run alone while the other processes idle. A stable sort: the rest keep their order."""
    items.sort(key=lambda item: 0 if "faults" in item.path.parts else 1)
